"""The runs table: what each nightly run did, step by step (status, timings, row counts, errors).

Every step writes its row twice: ``running`` when it starts and its final status when it ends, so
a run killed mid-step leaves a ``running`` row that the next run marks ``crashed``. Writing here
never fails the night: the caller logs a failed write and goes on (the step's own work matters
more than its bookkeeping).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flywheel.tasks.db import connect, fetch_dicts, run

STATUSES = ("running", "ok", "failed", "skipped", "crashed")
_NOTE_MAX_CHARS = 500


@dataclass
class StepRecord:
    """One row of the runs table."""

    run_id: str
    run_date: date
    step: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    seconds: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def details_of(value: Any) -> dict[str, Any]:
    """What the runs table keeps of a step's result: its top-level counts, flags and notes."""
    if not isinstance(value, dict):
        return {}
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, bool | int | float):
            kept[str(key)] = item
        elif isinstance(item, str):
            kept[str(key)] = item[:_NOTE_MAX_CHARS]
    return kept


def record_step(db_path: str | Path, record: StepRecord, *, timeout_s: float = 30.0) -> None:
    """Write (or replace) one step's row of a nightly run."""
    if record.status not in STATUSES:
        raise ValueError(f"unknown run status {record.status!r}")
    with connect(db_path, timeout_s=timeout_s) as con:
        run(con, "runs/record_step", {
            "run_id": record.run_id, "run_date": record.run_date, "step": record.step,
            "status": record.status, "started_at": record.started_at,
            "finished_at": record.finished_at, "seconds": record.seconds,
            "details": json.dumps(record.details, default=str, ensure_ascii=False),
            "error": record.error,
        })


def mark_crashed(db_path: str | Path, run_id: str, *, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """Mark the steps other runs left ``running`` as ``crashed``; returns them.

    Call it only while holding the nightly lock: then no other run can be in progress.
    """
    with connect(db_path, timeout_s=timeout_s) as con:
        return fetch_dicts(con, "runs/mark_crashed", {"run_id": run_id})


def _decoded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["details"] = json.loads(row["details"]) if row["details"] else {}
    return rows


def runs_for_date(db_path: str | Path, run_date: date | str) -> list[dict[str, Any]]:
    """Every run of one date (newest first), one row per step."""
    night = date.fromisoformat(run_date) if isinstance(run_date, str) else run_date
    with connect(db_path) as con:
        return _decoded(fetch_dicts(con, "runs/for_date", {"run_date": night}))


def latest_runs(db_path: str | Path, first: date | str, last: date | str) -> list[dict[str, Any]]:
    """The newest run of each date from ``first`` to ``last``, one row per step (for reports)."""
    lo = date.fromisoformat(first) if isinstance(first, str) else first
    hi = date.fromisoformat(last) if isinstance(last, str) else last
    with connect(db_path) as con:
        return _decoded(fetch_dicts(con, "runs/latest_per_date", {"first": lo, "last": hi}))


def now() -> datetime:
    """The current time, UTC (the runs table's clock)."""
    return datetime.now(UTC)
