"""All configuration, read in one place: defaults → flywheel.toml → environment → CLI flags.

Environment variables: every scalar field of :class:`Settings` is read from
``FLYWHEEL_<FIELD>`` (``FLYWHEEL_EVAL_MAX_ATTEMPTS=3``); the documented names below are aliases
(``ENV_ALIASES``; ``env_variables()`` lists them all, ``tests/unit/test_nightly_config.py`` checks
this table against it):

| variable                 | meaning                                                   | default              |
|--------------------------|-----------------------------------------------------------|----------------------|
| ``FLYWHEEL_DB``          | path of the DuckDB file                                   | ``./flywheel.duckdb``|
| ``FLYWHEEL_PROJECT_DIR`` | folder holding prompts/, experiments/, evalsets/, reports/| current directory    |
| ``FLYWHEEL_DB_TIMEOUT``  | seconds a writer waits for the DuckDB file lock           | ``30``               |
| ``FLYWHEEL_LANDING_DIR`` | folder the nightly run ingests                            | ``<project>/landing``|
| ``FLYWHEEL_PROMPT_CACHE_TTL`` | seconds the prompt API (flywheel.prompts) caches a label | 30 |
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
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
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

# Feedback dated more than this before its request does not count for it (clocks disagree by
# less). Every reader of feedback for a window of requests (A/B analysis, monitoring, reports,
# exports) reads it from this long before the window, and the A/B analysis drops the earlier
# ones (docs/statistics.md §12).
FEEDBACK_EARLY_LIMIT = timedelta(days=1)


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
class AutoPolicy:
    """Guarded automation for one prompt (``[auto.NAME]`` in flywheel.toml, docs/optimize.md).

    Each night the prompt's feedback proposes a candidate (``method``), which becomes its
    ``candidate`` label; an offline win (paired test, no regressing tag) starts a promotion ramp
    over ``stages``; the ramp's A/B decides: a win at the last stage completes it, a loss or a
    failed guardrail rolls it back. ``promote = false``: propose and evaluate only (the report
    lists the commands instead).
    """

    method: str = "all"  # fewshot | rewrite | all
    promote: bool = True
    stages: tuple[float, ...] = (0.1, 0.5, 1.0)
    min_users_per_stage: int = 30
    alpha: float = 0.05  # the offline paired test's and the ramp's primary-metric test's level


OPTIMIZE_METHODS = ("fewshot", "rewrite", "all")


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one run. Pass it (or its paths) down; never re-read env."""

    db_path: Path
    project_dir: Path
    db_lock_timeout_s: float = 30.0
    # DuckDB's memory limit while a night (or backfill) holds the store open: its cache of the
    # store's pages and its queries' working memory (spilled to disk beyond it). Unbounded, the
    # cache grows with what a night reads; flywheel.toml or FLYWHEEL_DB_MEMORY_LIMIT ("2GB").
    db_memory_limit: str = "1GB"
    # Raw text of a rejected line is kept up to this many characters (the rest is cut, noted).
    reject_raw_max_chars: int = 8192
    # JSONL files of one kind are read together up to this many bytes (memory vs. speed).
    ingest_batch_bytes: int = 256 * 1024 * 1024
    # How a trace score (Langfuse score, OpenTelemetry evaluation) becomes feedback, by score
    # name: flywheel.toml [trace_scores] "name" = unit | unit_inverted | rating | thumbs | skip.
    trace_scores: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TRACE_SCORES))
    landing_dir: Path | None = None
    # The prompt API (flywheel.prompts) re-resolves NAME@LABEL after this many seconds.
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
    # An llm-rubric judge whose Cohen's kappa against human labels is below this (from the
    # latest `flywheel eval calibrate`) holds the decisions that rest on it (docs/evals.md).
    judge_min_kappa: float = 0.6
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
    # Proposals from feedback (tasks/optimize, docs/optimize.md): few-shot curation and the
    # instruction rewrite (its model, called like the evals, and its budget per prompt a night).
    optimize_fewshot_k: int = 4
    optimize_min_corrections: int = 2
    optimize_rewrite_cases: int = 8
    optimize_model: str = "gpt-4o-mini"
    optimize_budget_usd: float = 0.05
    # Opt-in automation per prompt name: flywheel.toml [auto.NAME] tables (AutoPolicy).
    auto: dict[str, AutoPolicy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A/B planning and checks divide by these: out of range, the night would fail later
        for name in ("ab_target_power", "ab_srm_p_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < 1):
                raise UsageError(f"{name} (flywheel.toml or {ENV_PREFIX}{name.upper()}) must be "
                                 f"a number in (0, 1), not {value!r}")

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


# Every field of Settings with a scalar type (a number, a string, a flag or a path, possibly
# None) may be set in flywheel.toml under its own name and in the environment as FLYWHEEL_<FIELD>
# (upper case). The documented variables that are not FLYWHEEL_<FIELD> are aliases, below.
ENV_PREFIX = "FLYWHEEL_"
ENV_ALIASES: dict[str, str] = {
    "FLYWHEEL_DB": "db_path",
    "FLYWHEEL_DB_TIMEOUT": "db_lock_timeout_s",
    "FLYWHEEL_LANDING_DIR": "landing_dir",
    "FLYWHEEL_PROMPT_CACHE_TTL": "prompt_cache_ttl_s",
    "FLYWHEEL_SERVING_PATH": "serving_path",
    "FLYWHEEL_NIGHTLY_LOCK_TIMEOUT": "nightly_lock_timeout_s",
    "OPENAI_BASE_URL": "openai_base_url",
    "FLYWHEEL_EVAL_TIMEOUT": "eval_timeout_s",
    "FLYWHEEL_JUDGE_MODEL": "eval_judge_model",
    "FLYWHEEL_EVAL_RUNNER": "eval_task_runner",
    "FLYWHEEL_DASK_ADDRESS": "eval_dask_address",
    "MLFLOW_TRACKING_URI": "mlflow_tracking_uri",
}
_SCALAR_TYPES = (bool, int, float, str, Path)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _scalar_type(annotation: Any) -> type | None:
    """The scalar type of a field's annotation (``X`` of ``X | None``), else None."""
    options = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return options[0] if len(options) == 1 and options[0] in _SCALAR_TYPES else None


_FIELD_TYPES: dict[str, type] = {
    name: kind for name, hint in typing.get_type_hints(Settings).items()
    if (kind := _scalar_type(hint)) is not None
}


def env_variables() -> dict[str, str]:
    """Every environment variable flywheel reads for its settings, variable → field name: the
    documented aliases, then FLYWHEEL_<FIELD> for every scalar field."""
    derived = {ENV_PREFIX + name.upper(): name for name in _FIELD_TYPES}
    return {**ENV_ALIASES, **{v: n for v, n in derived.items() if v not in ENV_ALIASES}}


def _converted(name: str, value: Any, where: str, base: Path) -> Any:
    """A setting's value of the field's type, from a TOML value or an environment variable's text."""
    kind = _FIELD_TYPES[name]
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in _TRUE + _FALSE:
                raise ValueError(value)
            return text in _TRUE
        if kind is Path:
            return (base / str(value)).resolve()
        if kind is not str and isinstance(value, bool):
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        expected = {int: "a whole number", float: "a number", bool: "true or false",
                    str: "text", Path: "a path"}[kind]
        raise UsageError(f"{where} = {value!r}: expected {expected}") from None


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
        elif key in _FIELD_TYPES:
            out[key] = _converted(key, value, f"{path}: {key}", project_dir)
        elif key == "trace_scores":
            out[key] = _trace_scores(path, value)
        elif key == "export":
            out[key] = _export_from_toml(path, value)
        elif key == "redact":
            out[key] = _redact_from_toml(path, value)
        elif key == "auto":
            out[key] = _auto_from_toml(path, value)
        elif key == "eval_endpoints":
            out[key] = {str(p): {str(k): str(v) for k, v in e.items()} for p, e in value.items()}
    return out


def _auto_from_toml(path: Path, table: Any) -> dict[str, AutoPolicy]:
    """flywheel.toml ``[auto.NAME]`` tables: the prompts that opt in to the automation."""
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise UsageError(f"{path}: [auto] must hold one table per prompt name: [auto.NAME]")
    known = {f.name for f in fields(AutoPolicy)}
    policies = {}
    for name, entry in table.items():
        unknown = set(entry) - known
        if unknown:
            raise UsageError(f"{path}: [auto.{name}]: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            policy = AutoPolicy(
                method=str(entry.get("method", AutoPolicy.method)),
                promote=bool(entry.get("promote", AutoPolicy.promote)),
                stages=tuple(float(s) for s in entry.get("stages", AutoPolicy.stages)),
                min_users_per_stage=int(entry.get("min_users_per_stage",
                                                  AutoPolicy.min_users_per_stage)),
                alpha=float(entry.get("alpha", AutoPolicy.alpha)))
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{path}: [auto.{name}]: {exc}") from None
        if policy.method not in OPTIMIZE_METHODS:
            raise UsageError(f"{path}: [auto.{name}] method = {policy.method!r}: expected one "
                             f"of {', '.join(OPTIMIZE_METHODS)}")
        if not 0.0 < policy.alpha < 1.0:
            raise UsageError(f"{path}: [auto.{name}] alpha must be in (0, 1)")
        policies[str(name)] = policy
    return policies


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment sets (empty variables are ignored)."""
    out: dict[str, Any] = {}
    for variable, name in env_variables().items():
        if env.get(variable) and name not in out:
            out[name] = _converted(name, env[variable], variable, Path.cwd())
    return out


def load_settings(
    db: str | Path | None = None, project_dir: str | Path | None = None, **overrides: Any
) -> Settings:
    """Resolve the configuration once: defaults, then flywheel.toml, then the environment
    (:func:`env_variables`), then the arguments. Pass the result down; never re-read."""
    from_env = _from_env(os.environ)
    proj = Path(project_dir).resolve() if project_dir else from_env.pop("project_dir", Path.cwd())
    db_path = Path(db).resolve() if db else from_env.pop("db_path", Path("flywheel.duckdb").resolve())
    from_env.pop("project_dir", None)
    from_env.pop("db_path", None)
    settings = Settings(db_path=db_path, project_dir=proj)
    toml_values = {k: v for k, v in _from_toml(proj).items() if k not in ("db_path", "project_dir")}
    prices = {**settings.prices, **toml_values.pop("prices", {})}
    trace_scores = {**settings.trace_scores, **toml_values.pop("trace_scores", {})}
    settings = replace(settings, prices=prices, trace_scores=trace_scores,
                       **{**toml_values, **from_env})
    if settings.openai_base_url is None and os.environ.get(settings.openai_api_key_env):
        settings = replace(settings, openai_base_url=OPENAI_URL)
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
