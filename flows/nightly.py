"""The nightly flywheel: every step of one night, as subflows, for one date.

A failing step does not stop the steps that do not depend on it; the night's final state is
failed when any step failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.ab_analysis import ab_analysis_flow
from flows.export import export_flow
from flows.ingest import ingest_flow
from flows.offline_eval import offline_eval_nightly
from flows.prompts_sync import prompts_sync_flow
from flows.report import report_flow
from flows.rollout import rollout_flow
from flows.serving import serving_snapshot_flow
from tasks.config import load_settings
from tasks.serving.report import rollout_lines


def default_run_date() -> date:
    """Yesterday, UTC: the night's run covers the day that just ended."""
    return datetime.now(UTC).date() - timedelta(days=1)


def _step(results: list[dict[str, Any]], name: str, fn: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        value = fn()
        results.append({"step": name, "status": "ok", "seconds": time.perf_counter() - started})
        return value
    except Exception as exc:  # a failed step is recorded; the independent ones still run
        get_run_logger().error("step %s failed: %s", name, exc)
        results.append(
            {"step": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
             "seconds": time.perf_counter() - started}
        )
        return None


def _ab_brief(report: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """What the night's summary keeps of the A/B report: each experiment's verdict."""
    if report is None:
        return None
    return [{"name": e["name"], "status": e["status"], "trustworthy": e["trustworthy"],
             "winner": e["winner"]} for e in report["experiments"]]


@flow(name="nightly-flywheel")
def nightly_flywheel(
    run_date: str | None = None, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """Run every step of the night for ``run_date`` (default: yesterday, UTC)."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    night = date.fromisoformat(run_date) if run_date else default_run_date()
    db, proj = str(settings.db_path), str(settings.project_dir)
    steps: list[dict[str, Any]] = []
    ingest = _step(
        steps, "ingest",
        lambda: ingest_flow(paths=[str(settings.landing)], db_path=db, project_dir=proj)
        if settings.landing.exists() else {"note": f"no landing folder at {settings.landing}"},
    )
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
    rollout = _step(steps, "rollout", lambda: rollout_flow(
        run_date=night.isoformat(), db_path=db, project_dir=proj))
    serving = _step(steps, "serving-snapshot", lambda: serving_snapshot_flow(
        reason=f"nightly {night.isoformat()}", db_path=db, project_dir=proj))
    report = _step(steps, "report",
                   lambda: report_flow(run_date=night.isoformat(), db_path=db, project_dir=proj))
    summary = {"run_date": night.isoformat(), "steps": steps, "ingest": ingest, "prompts": prompts,
               "ab": _ab_brief(ab), "export": export, "offline_eval": offline_eval,
               "rollout": rollout, "serving": serving, "report": report,
               "failed": [s["step"] for s in steps if s["status"] == "failed"]}
    create_markdown_artifact(
        key="nightly-summary",
        markdown="\n".join(
            [f"# Nightly flywheel {night}", "", "| step | status | seconds |", "|---|---|---|"]
            + [f"| {s['step']} | {s['status']} | {s['seconds']:.1f} |" for s in steps]
            + rollout_lines(rollout)
        ),
        description=f"Steps of the night of {night}",
    )
    if summary["failed"]:
        raise RuntimeError(f"nightly run {night}: failed steps: {', '.join(summary['failed'])}")
    return summary
