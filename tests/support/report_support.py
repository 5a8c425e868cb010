"""Helpers shared by the report tests: projects with registered prompts and labels placed at
chosen moments, synthetic logs served by chosen versions, and an eval run on the demo model."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.evals._client import run_calls
from flywheel.tasks.evals._runner import call_options, run_eval
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.registry._labels import place_initial_label, promote
from flywheel.tasks.registry._store import PromptVersion, register_version

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 10, 1, tzinfo=UTC)


def repo_prompt(relative: str) -> dict[str, Any]:
    """A prompt spec of the repository's example prompts (``support/v1.yaml``)."""
    spec = yaml.safe_load((REPO / "prompts" / relative).read_text(encoding="utf-8"))
    spec.pop("labels", None)
    return spec


def register(settings: Settings, specs: Sequence[dict[str, Any]]) -> list[PromptVersion]:
    """Register prompt specs (no file validation: tests may register hostile content)."""
    with connect(settings.db_path) as con:
        return [register_version(con, spec, now=START - timedelta(days=30))[0] for spec in specs]


def place_label(settings: Settings, name: str, label: str, version: PromptVersion,
                at: datetime) -> None:
    """Create ``name@label`` at ``version``, recorded as placed at ``at``."""
    with connect(settings.db_path) as con:
        place_initial_label(con, name, label, version.hash, source_file="test", by="test",
                            now=at)


def promote_at(settings: Settings, name: str, version: PromptVersion, at: datetime,
               reason: str = "test promotion", by: str = "test") -> None:
    """Promote ``version`` to ``name@production``, recorded at ``at``."""
    with connect(settings.db_path) as con:
        promote(con, name, version.hash, reason=reason, by=by, now=at)


@dataclass(frozen=True)
class Period:
    """Traffic served by one version over [start, end): thumbs-up probability, latency."""

    version: PromptVersion
    start: datetime
    end: datetime
    p_up: float = 0.6
    latency_median_ms: float = 800.0
    error_rate: float = 0.01
    experiment: str | None = None
    variant: str | None = None


def write_logs(landing: Path, periods: Sequence[Period], *, users: int, seed: int,
               requests_per_user_day: float = 1.5,
               decorate: Callable[[dict[str, Any], list[dict[str, Any]], np.random.Generator],
                                  None] | None = None) -> None:
    """Requests (and thumbs feedback on 40% of them) per period, one file pair per period.
    ``decorate(request, feedback, rng)`` may change a request and its feedback in place."""
    rng = np.random.default_rng(seed)
    for k, period in enumerate(periods):
        requests, feedback = [], []
        days = (period.end - period.start).total_seconds() / 86400
        counts = rng.poisson(requests_per_user_day * days, size=users)
        for u, n in enumerate(counts):
            for j in range(int(n)):
                ts = period.start + (period.end - period.start) * float(rng.uniform())
                rid = f"req-{k}-{u}-{j}"
                error = rng.uniform() < period.error_rate
                record: dict[str, Any] = {
                    "request_id": rid, "timestamp": ts.isoformat(), "user_id": f"user-{u:05d}",
                    "prompt_name": period.version.name, "prompt_hash": period.version.hash,
                    "model": "gpt-4o-mini", "input": {"question": "How do I get a refund?"},
                    "output": None if error else "From Billing → Invoices within 14 days.",
                    "latency_ms": round(float(rng.lognormal(np.log(period.latency_median_ms),
                                                            0.4)), 1),
                    "prompt_tokens": 120, "completion_tokens": 30, "cost_usd": 0.00004}
                if error:
                    record["error"] = "upstream timeout"
                if period.experiment:
                    record |= {"experiment": period.experiment, "variant": period.variant}
                items: list[dict[str, Any]] = []
                if not error and rng.uniform() < 0.4:
                    items.append({"feedback_id": f"fb-{rid}", "request_id": rid,
                                  "timestamp": (ts + timedelta(minutes=5)).isoformat(),
                                  "kind": "thumbs",
                                  "value": int(rng.uniform() < period.p_up)})
                if decorate:
                    decorate(record, items, rng)
                requests.append(record)
                feedback += items
        for kind, rows in (("requests", requests), ("feedback", feedback)):
            path = landing / f"{kind}-{k:02d}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                            encoding="utf-8")


def project(root: Path, **overrides: Any) -> Settings:
    """An empty project folder and its settings (the store inside it)."""
    root.mkdir(parents=True, exist_ok=True)
    return load_settings(db=root / "flywheel.duckdb", project_dir=root, **overrides)


def ingest(settings: Settings) -> None:
    """Ingest the project's landing folder."""
    ingest_paths(settings, [settings.landing])


def copy_evalset(root: Path, name: str = "support.jsonl") -> Path:
    """The repository's eval set and its python checks, copied into the project."""
    target = root / "evalsets" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "evalsets" / name, target)
    shutil.copy(REPO / "evalsets" / "checks.py", root / "evalsets" / "checks.py")
    return target


def eval_on_demo_model(settings: Settings, evalset: Path, refs: list[str]) -> dict[str, Any]:
    """Run an offline eval with the calls made directly (no Prefect), as the nightly step
    would: ``settings.openai_base_url`` must point at a running demo model."""
    options = call_options(settings)
    return run_eval(settings, evalset, refs,
                    execute=lambda specs, label: run_calls(list(specs), options),
                    trigger="nightly")


def night(d: datetime) -> date:
    """The date of a moment."""
    return d.astimezone(UTC).date()


PROMOTED_AT = START + timedelta(days=7, hours=12)


def rollback_project(root: Path, *, after_p_up: float = 0.50, after_latency: float = 950.0,
                     users: int = 1500, seed: int = 3) -> tuple[Settings, PromptVersion,
                                                               PromptVersion]:
    """support v1 in production from ``START``; v2 promoted at ``PROMOTED_AT``; a week of
    logs of each (v1 before: 62% thumbs up, 800 ms median; v2 after: the given numbers)."""
    settings = project(root)
    v1, v2 = register(settings, [repo_prompt("support/v1.yaml"),
                                 repo_prompt("support/v2-friendly.yaml")])
    place_label(settings, "support", "production", v1, START - timedelta(days=1))
    promote_at(settings, "support", v2, PROMOTED_AT, reason="won tone-test")
    write_logs(settings.landing, [
        Period(v1, START, PROMOTED_AT, p_up=0.62, latency_median_ms=800.0),
        Period(v2, PROMOTED_AT, START + timedelta(days=14), p_up=after_p_up,
               latency_median_ms=after_latency)], users=users, seed=seed)
    ingest(settings)
    return settings, v1, v2
