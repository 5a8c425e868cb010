"""All configuration, read in one place: defaults → flywheel.toml → environment → CLI flags.

Environment variables (every one flywheel reads):

| variable                 | meaning                                                   | default              |
|--------------------------|-----------------------------------------------------------|----------------------|
| ``FLYWHEEL_DB``          | path of the DuckDB file                                   | ``./flywheel.duckdb``|
| ``FLYWHEEL_PROJECT_DIR`` | folder holding prompts/, experiments/, evalsets/, reports/| current directory    |
| ``FLYWHEEL_DB_TIMEOUT``  | seconds a writer waits for the DuckDB file lock           | ``30``               |
| ``FLYWHEEL_LANDING_DIR`` | folder the nightly run ingests                            | ``<project>/landing``|
| ``FLYWHEEL_NIGHTLY_LOCK_TIMEOUT`` | seconds a nightly run waits for another one on the same database | ``600`` |
| ``FLYWHEEL_ALERT_WEBHOOK_URL`` | Slack-compatible webhook the monitoring alerts are POSTed to | none (not sent) |
| ``OPENAI_BASE_URL``      | OpenAI-compatible endpoint for offline evals              | OpenAI's             |
| ``OPENAI_API_KEY``       | its key (never logged)                                    | none                 |

``flywheel.toml`` in the project folder may set any field of :class:`Settings` at the top level
and a ``[prices]`` table: ``"model-name" = {input = 0.15, output = 0.60}`` in USD per 1M tokens.
The monitoring fields (``monitor_*``, ``alert_webhook_*``) are explained in docs/monitoring.md.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tasks.errors import UsageError

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
    landing_dir: Path | None = None
    prices: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
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

    def dir(self, name: str) -> Path:
        """A folder of the project: ``prompts``, ``experiments``, ``evalsets``, ``reports``."""
        return self.project_dir / name


_SCALARS = {"db_lock_timeout_s": float, "reject_raw_max_chars": int, "ingest_batch_bytes": int,
            "nightly_lock_timeout_s": float, "monitor_baseline_nights": int,
            "monitor_min_baseline_nights": int, "monitor_min_count": int,
            "monitor_min_relative_change": float, "monitor_psi_min_count": int,
            "alert_webhook_url": str, "alert_webhook_timeout_s": float}


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
        elif key == "landing_dir":
            out[key] = (project_dir / value).resolve()
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
    settings = replace(settings, prices=prices, **toml_values)
    if "FLYWHEEL_DB_TIMEOUT" in env:
        settings = replace(settings, db_lock_timeout_s=float(env["FLYWHEEL_DB_TIMEOUT"]))
    if "FLYWHEEL_NIGHTLY_LOCK_TIMEOUT" in env:
        settings = replace(settings, nightly_lock_timeout_s=float(env["FLYWHEEL_NIGHTLY_LOCK_TIMEOUT"]))
    if env.get("FLYWHEEL_ALERT_WEBHOOK_URL"):
        settings = replace(settings, alert_webhook_url=env["FLYWHEEL_ALERT_WEBHOOK_URL"])
    if env.get("FLYWHEEL_LANDING_DIR"):
        settings = replace(settings, landing_dir=Path(env["FLYWHEEL_LANDING_DIR"]).resolve())
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(settings, **given)
