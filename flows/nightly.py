"""The nightly flywheel: every step of one night, as subflows, for one date.

Steps run in this order (``STEP_ORDER``): ingest → prompts-sync → ab-analysis → offline-eval →
export → monitoring → rollout → serving-snapshot → mlflow-mirror → report. Each is one
``_step(results, name, fn)`` call: a name and a zero-argument callable that runs the step's
subflow. ``_step`` records the step's status, duration, row counts and error (in the returned
summary, the runs table and the logs) and never lets one step's failure stop the steps that do
not depend on it; a step given ``needs=`` is skipped, with the reason, when a step it needs did
not succeed. The night's final state is failed when any step failed or was skipped, and the
summary of every step is still returned (as the data of the failed state) and published as an
artifact.

The whole night holds the database's nightly lock (``tasks/lock.py``), so two nightly runs on one
database never interleave, with or without a Prefect server. Every step is idempotent for its
date, so re-running a night (``flywheel nightly --date D``) replaces what that night derived.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from prefect.states import Failed, State

from flywheel.flows.ab_analysis import ab_analysis_flow
from flywheel.flows.export import export_flow
from flywheel.flows.ingest import ingest_flow
from flywheel.flows.mlflow_mirror import mlflow_mirror_flow
from flywheel.flows.monitoring import monitoring_flow
from flywheel.flows.offline_eval import offline_eval_nightly
from flywheel.flows.prompts_sync import prompts_sync_flow
from flywheel.flows.report import report_flow
from flywheel.flows.rollout import rollout_flow
from flywheel.flows.serving import serving_snapshot_flow
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.errors import FlywheelError, UsageError
from flywheel.tasks.lock import nightly_lock
from flywheel.tasks.mlflow_mirror import OFF_NOTE
from flywheel.tasks.runs import StepRecord, details_of, mark_crashed, now, record_step
from flywheel.tasks.serving.report import rollout_lines

STEP_ORDER = ("ingest", "prompts-sync", "ab-analysis", "offline-eval", "export", "monitoring",
              "rollout", "serving-snapshot", "mlflow-mirror", "report")


class NightlyFailed(FlywheelError):
    """A night with failed or skipped steps; ``summary`` holds what every step did."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message, summary)
        self.message = message
        self.summary = summary

    def __str__(self) -> str:
        return self.message


class StepIncomplete(FlywheelError):
    """Raised by a step that did part of its work: the step counts as failed, its result is kept."""

    def __init__(self, message: str, value: Any) -> None:
        super().__init__(message, value)
        self.message = message
        self.value = value

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class _Night:
    run_id: str
    run_date: date
    settings: Settings


_night: ContextVar[_Night | None] = ContextVar("flywheel_night", default=None)
_LOG_FIELDS = frozenset({"event", "run_date", "step", "status", "seconds", "error", "reason"})


def default_run_date() -> date:
    """Yesterday, UTC: the night's run covers the day that just ended."""
    return datetime.now(UTC).date() - timedelta(days=1)


def _logfmt(fields: dict[str, Any]) -> str:
    def quoted(value: Any) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        return f'"{text}"' if (" " in text or "=" in text or not text) else text

    return " ".join(f"{key}={quoted(value)}" for key, value in fields.items() if value is not None)


def _log(level: str, event: str, **fields: Any) -> None:
    """One structured log line (logfmt text; the same fields as record attributes)."""
    night = _night.get()
    base = {"event": event, "run_date": night.run_date.isoformat() if night else None}
    payload = {**base, **fields}
    getattr(get_run_logger(), level)(_logfmt(payload), extra={"flywheel": payload})


def _record(record: StepRecord) -> None:
    night = _night.get()
    if night is None:
        return
    try:
        record_step(night.settings.db_path, record, timeout_s=night.settings.db_lock_timeout_s)
    except Exception as exc:  # bookkeeping never fails the night
        _log("warning", "runs_table_write_failed", step=record.step, error=str(exc))


def _step(
    results: list[dict[str, Any]], name: str, fn: Callable[[], Any], *, needs: Iterable[str] = ()
) -> Any:
    """Run one step of the night; record it; return its result (None if it failed or was skipped).

    ``needs`` names earlier steps this one cannot run without: if one of them failed or was
    skipped, this step is skipped with the reason.
    """
    night = _night.get()
    run_id = night.run_id if night else ""
    run_date = night.run_date if night else date.today()
    started_at = now()
    blocked = [r for r in results if r["step"] in set(needs) and r["status"] != "ok"]
    if blocked:
        reason = "needs " + ", ".join(f"{r['step']} ({r['status']})" for r in blocked)
        results.append({"step": name, "status": "skipped", "seconds": 0.0, "error": reason})
        _record(StepRecord(run_id, run_date, name, "skipped", started_at, started_at, 0.0, {}, reason))
        _log("warning", "step_skipped", step=name, status="skipped", reason=reason)
        return None
    _record(StepRecord(run_id, run_date, name, "running", started_at))
    _log("info", "step_started", step=name)
    clock = time.perf_counter()
    value: Any = None
    error: str | None = None
    try:
        value = fn()
    except StepIncomplete as exc:
        value, error = exc.value, str(exc)
    except Exception as exc:  # a failed step is recorded; the independent ones still run
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - clock
    entry: dict[str, Any] = {"step": name, "status": "failed" if error else "ok", "seconds": seconds}
    if error:
        entry["error"] = error
    results.append(entry)
    details = details_of(value)
    _record(StepRecord(run_id, run_date, name, entry["status"], started_at, now(), seconds,
                       details, error))
    counts = {k: v for k, v in details.items()
              if isinstance(v, int) and not isinstance(v, bool) and k not in _LOG_FIELDS}
    _log("error" if error else "info", "step_finished", step=name, status=entry["status"],
         seconds=seconds, error=error, **counts)
    return value


def _ingest_landing(settings: Settings) -> dict[str, Any]:
    """Ingest the landing folder; unreadable files make the step fail (their rows are kept)."""
    if not settings.landing.exists():
        return {"note": f"no landing folder at {settings.landing}"}
    summary = ingest_flow(paths=[str(settings.landing)], db_path=str(settings.db_path),
                          project_dir=str(settings.project_dir))
    if summary.get("files_failed"):
        unreadable = "; ".join(f"{f['path']}: {f['reason']}" for f in summary["failures"][:5])
        raise StepIncomplete(f"{summary['files_failed']} unreadable file(s): {unreadable}", summary)
    return summary


def _run_id() -> str:
    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None:
        return str(context.flow_run.id)
    return str(uuid.uuid4())


def _parse_date(run_date: str | None) -> date:
    if not run_date:
        return default_run_date()
    try:
        return date.fromisoformat(run_date)
    except ValueError:
        raise UsageError(f"run_date {run_date!r} is not a date (YYYY-MM-DD)") from None


def _artifact(night: date, summary: dict[str, Any]) -> None:
    lines = [f"# Nightly flywheel {night}", "", "| step | status | seconds | error |",
             "|---|---|---|---|"]
    lines += [f"| {s['step']} | {s['status']} | {s['seconds']:.1f} | "
              f"{(s.get('error') or '').replace('|', '/')[:300]} |" for s in summary["steps"]]
    lines += rollout_lines(summary.get("rollout"))
    create_markdown_artifact(key="nightly-summary", markdown="\n".join(lines),
                             description=f"Steps of the night of {night}")


def _ab_brief(report: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """What the night's summary keeps of the A/B report: each experiment's verdict."""
    if report is None:
        return None
    return [{"name": e["name"], "status": e["status"], "trustworthy": e["trustworthy"],
             "winner": e["winner"]} for e in report["experiments"]]


@flow(name="nightly-flywheel")
def nightly_flywheel(
    run_date: str | None = None, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any] | State:
    """Run every step of the night for ``run_date`` (YYYY-MM-DD; default: yesterday, UTC)."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    night = _parse_date(run_date)
    db, proj = str(settings.db_path), str(settings.project_dir)
    run_id = _run_id()
    with nightly_lock(settings.db_path, timeout_s=settings.nightly_lock_timeout_s,
                      purpose=f"nightly {night}"):
        token = _night.set(_Night(run_id, night, settings))
        try:
            started_at, clock = now(), time.perf_counter()
            crashed = mark_crashed(db, run_id, timeout_s=settings.db_lock_timeout_s)
            for row in crashed:
                _log("warning", "earlier_run_crashed", step=row["step"], run_id=row["run_id"],
                     crashed_run_date=row["run_date"])
            _record(StepRecord(run_id, night, "nightly", "running", started_at))
            steps: list[dict[str, Any]] = []
            ingest = _step(steps, "ingest", lambda: _ingest_landing(settings))
            prompts_dir = settings.dir("prompts")
            prompts = _step(
                steps, "prompts-sync",
                lambda: prompts_sync_flow(db_path=db, project_dir=proj)
                if prompts_dir.is_dir() else {"note": f"no prompts folder at {prompts_dir}"},
            )
            ab = _step(
                steps, "ab-analysis",
                lambda: ab_analysis_flow(run_date=night.isoformat(), db_path=db, project_dir=proj),
            )
            offline_eval = _step(steps, "offline-eval",
                                 lambda: offline_eval_nightly(db_path=db, project_dir=proj))
            export = _step(
                steps, "export",
                lambda: export_flow(out_dir=str(settings.project_dir / "exports" / night.isoformat()),
                                    db_path=db, project_dir=proj, until=night.isoformat()),
            )
            monitoring = _step(
                steps, "monitoring",
                lambda: monitoring_flow(run_date=night.isoformat(), db_path=db, project_dir=proj),
                needs=("ingest",),
            )
            rollout = _step(steps, "rollout", lambda: rollout_flow(
                run_date=night.isoformat(), db_path=db, project_dir=proj), needs=("ingest",))
            serving = _step(steps, "serving-snapshot", lambda: serving_snapshot_flow(
                reason=f"nightly {night.isoformat()}", db_path=db, project_dir=proj))
            mirror = _step(  # never fails: MLflow trouble is a warning in its result
                steps, "mlflow-mirror", lambda: mlflow_mirror_flow(db_path=db, project_dir=proj)
                if settings.mlflow_tracking_uri else {"note": OFF_NOTE})
            # report goes last: it shows every step's status (flywheel.tasks.runs) and the alerts.
            report = _step(steps, "report", lambda: report_flow(
                run_date=night.isoformat(), db_path=db, project_dir=proj), needs=("ab-analysis",))
            failed = [s["step"] for s in steps if s["status"] != "ok"]
            summary = {"run_date": night.isoformat(), "run_id": run_id, "steps": steps,
                       "ingest": ingest, "prompts": prompts, "ab": _ab_brief(ab),
                       "offline_eval": offline_eval, "export": export, "monitoring": monitoring,
                       "rollout": rollout, "serving": serving, "mlflow_mirror": mirror,
                       "report": report,
                       "failed": failed}
            seconds = time.perf_counter() - clock
            _record(StepRecord(run_id, night, "nightly", "failed" if failed else "ok", started_at,
                               now(), seconds, {"steps": len(steps), "failed": len(failed)},
                               ", ".join(failed) or None))
            _log("error" if failed else "info", "night_finished", status="failed" if failed else "ok",
                 seconds=seconds, failed=",".join(failed) or None)
        finally:
            _night.reset(token)
    _artifact(night, summary)
    if failed:
        message = f"nightly run {night}: failed steps: " + "; ".join(
            f"{s['step']}: {s.get('error', s['status'])}" for s in steps if s["status"] != "ok")
        return Failed(message=message, data=NightlyFailed(message, summary))
    return summary
