"""All configuration, read in one place: defaults → flywheel.toml → environment → CLI flags.

Environment variables (every one flywheel reads):

| variable                 | meaning                                                   | default              |
|--------------------------|-----------------------------------------------------------|----------------------|
| ``FLYWHEEL_DB``          | path of the DuckDB file                                   | ``./flywheel.duckdb``|
| ``FLYWHEEL_PROJECT_DIR`` | folder holding prompts/, experiments/, evalsets/, reports/| current directory    |
| ``FLYWHEEL_DB_TIMEOUT``  | seconds a writer waits for the DuckDB file lock           | ``30``               |
| ``FLYWHEEL_LANDING_DIR`` | folder the nightly run ingests                            | ``<project>/landing``|
| ``FLYWHEEL_PROMPT_CACHE_TTL`` | seconds the prompt API (flywheel.tasks.registry.api) caches a label | 30 |
| ``FLYWHEEL_SERVING_PATH`` | the serving snapshot applications read (docs/serving.md) | ``<project>/serving.json`` |
| ``FLYWHEEL_NIGHTLY_LOCK_TIMEOUT`` | seconds a nightly run waits for another one on the same database | ``600`` |
| ``FLYWHEEL_ALERT_WEBHOOK_URL`` | Slack-compatible webhook the monitoring alerts are POSTed to | none (not sent) |
| ``OPENAI_BASE_URL``      | OpenAI-compatible endpoint for offline evals              | OpenAI's, with a key |
| ``OPENAI_API_KEY``       | its key (never logged)                                    | none                 |
| ``FLYWHEEL_EVAL_CONCURRENCY`` | eval calls in flight at once                         | ``8``                |
| ``FLYWHEEL_EVAL_TIMEOUT``     | seconds one eval call may take                       | ``60``               |
| ``FLYWHEEL_JUDGE_MODEL``      | model of the ``llm-rubric`` judge                    | ``gpt-4o-mini``      |
| ``FLYWHEEL_EVAL_RUNNER``      | ``local`` or ``dask`` (fan-out of eval calls)        | ``local``            |
| ``FLYWHEEL_DASK_ADDRESS``     | Dask scheduler address (none: a local cluster)       | none                 |
| ``MLFLOW_TRACKING_URI``       | MLflow store the nightly mirrors into (docs/mlflow.md) | none: mirror off    |

``flywheel.toml`` in the project folder may set any field of :class:`Settings` at the top level
and a ``[prices]`` table: ``"model-name" = {input = 0.15, output = 0.60}`` in USD per 1M tokens.
An ``[export]`` table sets :class:`ExportSettings` (with an ``[export.token_limits]`` table of
model → tokens per example) and a ``[redact]`` table sets :class:`RedactSettings`.
Offline evals may send one prompt elsewhere with an ``[eval_endpoints.<prompt>]`` table:
``base_url = "..."`` and ``api_key_env = "NAME_OF_THE_KEY_VARIABLE"`` (never the key itself).
The monitoring fields (``monitor_*``, ``alert_webhook_*``) are explained in docs/monitoring.md.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from flywheel.tasks.errors import UsageError

# USD per 1M tokens (input, output). Used to fill ``cost_usd`` when a log record lacks it.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o3-mini": (1.10, 4.40),
    "demo-echo-1": (0.0, 0.0),
}


OPENAI_URL = "https://api.openai.com/v1"


# Tokens per fine-tuning example (OpenAI's training-example context length). A model is matched
# by its longest prefix here; an unknown model gets the data-preparation guide's 4,096.
DEFAULT_TOKEN_LIMITS: dict[str, int] = {
    "gpt-4o-mini": 65536,
    "gpt-4o": 65536,
    "gpt-3.5-turbo": 16385,
    "gpt-3.5-turbo-0613": 4096,
}
FALLBACK_TOKEN_LIMIT = 4096


@dataclass(frozen=True)
class ExportSettings:
    """Fine-tuning, preference and hard-example exports (``[export]`` in flywheel.toml)."""

    model: str = "gpt-4o-mini"  # the model to fine-tune: its tokenizer and example limit apply
    token_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_TOKEN_LIMITS))
    validation_share: float = 0.1  # share of examples in validation.jsonl (by example hash)
    include_rated: bool = False  # also export uncorrected outputs rated >= 4 or thumbed up
    leakage_threshold: float = 90.0  # rapidfuzz similarity 0-100 that counts as an eval case
    hard_examples_per_prompt: int = 50

    def token_limit(self, model: str | None = None) -> int:
        """The example token limit for ``model`` (default: the export model)."""
        name = model or self.model
        matches = [m for m in self.token_limits if name == m or name.startswith(m + "-")]
        return self.token_limits[max(matches, key=len)] if matches else FALLBACK_TOKEN_LIMIT


@dataclass(frozen=True)
class RedactSettings:
    """PII and secret redaction (``[redact]`` in flywheel.toml); see tasks/redact.py."""

    types: tuple[str, ...] | None = None  # None: every type flywheel.tasks.redact knows
    allow: tuple[str, ...] = ()  # values never redacted (case-insensitive exact match)


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one run. Pass it (or its paths) down; never re-read env."""

    db_path: Path
    project_dir: Path
    db_lock_timeout_s: float = 30.0
    # Raw text of a rejected line is kept up to this many characters (the rest is cut, noted).
    reject_raw_max_chars: int = 8192
    # JSONL files of one kind are read together up to this many bytes (memory vs. speed).
    ingest_batch_bytes: int = 256 * 1024 * 1024
    # How a trace score (Langfuse score, OpenTelemetry evaluation) becomes feedback, by score
    # name: flywheel.toml [trace_scores] "name" = unit | unit_inverted | rating | thumbs | skip.
    trace_scores: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TRACE_SCORES))
    landing_dir: Path | None = None
    # The prompt API (flywheel.tasks.registry.api) re-resolves NAME@LABEL after this many seconds.
    prompt_cache_ttl_s: float = 30.0
    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    export: ExportSettings = field(default_factory=ExportSettings)
    redact: RedactSettings = field(default_factory=RedactSettings)
    # A/B analysis: an integrity check fails past these; CUPED reads this many days before start.
    ab_srm_p_threshold: float = 0.001
    ab_max_mismatch_share: float = 0.01
    ab_max_multi_arm_share: float = 0.01
    ab_cuped_lookback_days: int = 14
    ab_target_power: float = 0.8
    # Offline evals (tasks/evals). The API key is read from the variable ``openai_api_key_env``
    # names, in the process making the calls: it is never part of Settings.
    # None: OpenAI's own when the key variable is set, else no endpoint (evals are skipped at
    # night, refused by hand): a test or demo never reaches a real API unless asked to.
    openai_base_url: str | None = None
    openai_api_key_env: str = "OPENAI_API_KEY"
    eval_concurrency: int = 8
    eval_timeout_s: float = 60.0
    eval_max_attempts: int = 5
    eval_backoff_base_s: float = 0.5
    eval_backoff_max_s: float = 20.0
    eval_stream: bool = False
    eval_judge_model: str = "gpt-4o-mini"
    eval_task_runner: str = "local"  # local | dask
    eval_dask_address: str | None = None  # none: a local Dask cluster of eval_dask_workers
    eval_dask_workers: int = 2
    eval_shards: int = 0  # batches the calls are split into; 0: 1 locally, 4 per Dask worker
    eval_endpoints: dict[str, dict[str, str]] = field(default_factory=dict)  # per prompt name
    # MLflow mirror (tasks/mlflow_mirror, docs/mlflow.md): off while no tracking URI is set.
    mlflow_tracking_uri: str | None = None
    mlflow_experiment_prefix: str = ""  # MLflow experiment of a prompt: prefix + prompt name
    mlflow_artifact_location: str | None = None  # none: beside a sqlite store, else the server's
    mlflow_timeout_s: float = 10.0  # per MLflow HTTP request (2 retries)
    # Serving (docs/serving.md): where serving.json is written (a `--ramp` stage's minimum users
    # is `rollout.min_users_per_stage` of decisions.yaml, tasks/reports/rules.py).
    serving_path: Path | None = None
    # Nightly operations and monitoring (docs/monitoring.md, docs/operations.md).
    nightly_lock_timeout_s: float = 600.0
    monitor_baseline_nights: int = 7
    monitor_min_baseline_nights: int = 3
    monitor_min_count: int = 30  # a night's metric needs this many observations to count
    monitor_min_relative_change: float = 0.10
    monitor_psi_min_count: int = 100
    alert_webhook_url: str | None = None
    alert_webhook_timeout_s: float = 5.0

    @property
    def landing(self) -> Path:
        """The folder of incoming log files."""
        return self.landing_dir or self.project_dir / "landing"

    @property
    def serving_file(self) -> Path:
        """The serving snapshot (serving.json) applications read."""
        return self.serving_path or self.project_dir / "serving.json"

    def dir(self, name: str) -> Path:
        """A folder of the project: ``prompts``, ``experiments``, ``evalsets``, ``reports``."""
        return self.project_dir / name


_SCALARS = {"db_lock_timeout_s": float, "reject_raw_max_chars": int, "ingest_batch_bytes": int,
            "prompt_cache_ttl_s": float, "ab_srm_p_threshold": float,
            "ab_max_mismatch_share": float, "ab_max_multi_arm_share": float,
            "ab_cuped_lookback_days": int, "ab_target_power": float,
            "openai_base_url": str, "openai_api_key_env": str, "eval_concurrency": int,
            "eval_timeout_s": float, "eval_max_attempts": int, "eval_backoff_base_s": float,
            "eval_backoff_max_s": float, "eval_stream": bool, "eval_judge_model": str,
            "eval_task_runner": str, "eval_dask_address": str, "eval_dask_workers": int,
            "eval_shards": int,
            "nightly_lock_timeout_s": float, "monitor_baseline_nights": int,
            "monitor_min_baseline_nights": int, "monitor_min_count": int,
            "monitor_min_relative_change": float, "monitor_psi_min_count": int,
            "alert_webhook_url": str, "alert_webhook_timeout_s": float,
            "mlflow_tracking_uri": str, "mlflow_experiment_prefix": str,
            "mlflow_artifact_location": str, "mlflow_timeout_s": float}
_ENV = {"OPENAI_BASE_URL": "openai_base_url", "FLYWHEEL_EVAL_CONCURRENCY": "eval_concurrency",
        "FLYWHEEL_EVAL_TIMEOUT": "eval_timeout_s", "FLYWHEEL_JUDGE_MODEL": "eval_judge_model",
        "FLYWHEEL_EVAL_RUNNER": "eval_task_runner", "FLYWHEEL_DASK_ADDRESS": "eval_dask_address",
        "MLFLOW_TRACKING_URI": "mlflow_tracking_uri"}
_EXPORT_SCALARS = {"model": str, "validation_share": float, "include_rated": bool,
                   "leakage_threshold": float, "hard_examples_per_prompt": int}


def _export_from_toml(path: Path, table: Any) -> ExportSettings:
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [export] must be a table")
    unknown = set(table) - {*_EXPORT_SCALARS, "token_limits"}
    if unknown:
        raise UsageError(f"{path}: unknown [export] setting(s): {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    try:
        for key, kind in _EXPORT_SCALARS.items():
            if key in table:
                if kind is bool and not isinstance(table[key], bool):
                    raise ValueError(f"{key} must be true or false")
                values[key] = kind(table[key])
        limits = {**DEFAULT_TOKEN_LIMITS,
                  **{str(m): int(n) for m, n in table.get("token_limits", {}).items()}}
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{path}: [export]: {exc}") from None
    settings = ExportSettings(token_limits=limits, **values)
    if not 0.0 <= settings.validation_share < 1.0:
        raise UsageError(f"{path}: [export] validation_share must be in [0, 1)")
    if not 0.0 < settings.leakage_threshold <= 100.0:
        raise UsageError(f"{path}: [export] leakage_threshold must be in (0, 100]")
    return settings


def _redact_from_toml(path: Path, table: Any) -> RedactSettings:
    if not isinstance(table, dict) or set(table) - {"types", "allow"}:
        raise UsageError(f"{path}: [redact] takes only `types` and `allow` (lists of strings)")
    types = table.get("types")
    return RedactSettings(
        types=tuple(str(t).upper() for t in types) if types is not None else None,
        allow=tuple(str(a) for a in table.get("allow", ())),
    )


def _from_toml(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "flywheel.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    known = {f.name for f in fields(Settings)}
    unknown = set(data) - known
    if unknown:
        raise UsageError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "prices":
            out["prices"] = {
                str(m): (float(p["input"]), float(p["output"])) for m, p in value.items()
            }
        elif key in _SCALARS:
            out[key] = _SCALARS[key](value)
        elif key == "trace_scores":
            out[key] = _trace_scores(path, value)
        elif key in ("landing_dir", "serving_path"):
            out[key] = (project_dir / value).resolve()
        elif key == "export":
            out[key] = _export_from_toml(path, value)
        elif key == "redact":
            out[key] = _redact_from_toml(path, value)
        elif key == "eval_endpoints":
            out[key] = {str(p): {str(k): str(v) for k, v in e.items()} for p, e in value.items()}
    return out


def load_settings(
    db: str | Path | None = None, project_dir: str | Path | None = None, **overrides: Any
) -> Settings:
    """Resolve the configuration: defaults, then flywheel.toml, then environment, then arguments."""
    env = os.environ
    proj = Path(project_dir or env.get("FLYWHEEL_PROJECT_DIR") or Path.cwd()).resolve()
    db_path = Path(db or env.get("FLYWHEEL_DB") or "flywheel.duckdb").resolve()
    settings = Settings(db_path=db_path, project_dir=proj)
    toml_values = _from_toml(proj)
    prices = {**settings.prices, **toml_values.pop("prices", {})}
    trace_scores = {**settings.trace_scores, **toml_values.pop("trace_scores", {})}
    settings = replace(settings, prices=prices, trace_scores=trace_scores, **toml_values)
    if "FLYWHEEL_DB_TIMEOUT" in env:
        settings = replace(settings, db_lock_timeout_s=float(env["FLYWHEEL_DB_TIMEOUT"]))
    if env.get("FLYWHEEL_PROMPT_CACHE_TTL"):
        try:
            ttl = float(env["FLYWHEEL_PROMPT_CACHE_TTL"])
        except ValueError:
            raise UsageError("FLYWHEEL_PROMPT_CACHE_TTL: expected seconds, got "
                             f"{env['FLYWHEEL_PROMPT_CACHE_TTL']!r}") from None
        settings = replace(settings, prompt_cache_ttl_s=ttl)
    if "FLYWHEEL_NIGHTLY_LOCK_TIMEOUT" in env:
        settings = replace(settings, nightly_lock_timeout_s=float(env["FLYWHEEL_NIGHTLY_LOCK_TIMEOUT"]))
    if env.get("FLYWHEEL_ALERT_WEBHOOK_URL"):
        settings = replace(settings, alert_webhook_url=env["FLYWHEEL_ALERT_WEBHOOK_URL"])
    if env.get("FLYWHEEL_LANDING_DIR"):
        settings = replace(settings, landing_dir=Path(env["FLYWHEEL_LANDING_DIR"]).resolve())
    for variable, name in _ENV.items():
        if env.get(variable):
            try:
                settings = replace(settings, **{name: _SCALARS[name](env[variable])})
            except ValueError:
                raise UsageError(f"{variable}={env[variable]!r}: not a valid value") from None
    if settings.openai_base_url is None and env.get(settings.openai_api_key_env):
        settings = replace(settings, openai_base_url=OPENAI_URL)
    if env.get("FLYWHEEL_SERVING_PATH"):
        settings = replace(settings, serving_path=Path(env["FLYWHEEL_SERVING_PATH"]).resolve())
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(settings, **given)


# How a trace score becomes feedback, by score name (lower case); other names: "unit".
TRACE_SCORE_MODES = ("unit", "unit_inverted", "rating", "thumbs", "skip")
DEFAULT_TRACE_SCORES: dict[str, str] = {"toxicity": "unit_inverted", "hallucination": "unit_inverted"}


def _trace_scores(path: Path, table: Any) -> dict[str, str]:
    """flywheel.toml [trace_scores]: score name → mode (docs/trace-ingest.md)."""
    if not isinstance(table, dict):
        raise UsageError(f"{path}: trace_scores must be a table of score name = mode")
    for name, mode in table.items():
        if mode not in TRACE_SCORE_MODES:
            raise UsageError(f"{path}: trace_scores.{name} = {mode!r}: expected one of {', '.join(TRACE_SCORE_MODES)}")
    return {str(name).lower(): str(mode) for name, mode in table.items()}
