"""The ``report`` flow: one night's promotion reports (reports/DATE/*.html|.md and index.html),
a Markdown artifact per prompt with the decision and its key numbers, and link artifacts to
the HTML files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from flywheel.tasks.config import load_settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry.markdown import artifact_key
from flywheel.tasks.reports import artifact_markdown, build_night, default_night, md


@task(name="build-reports")
def build_reports(run_date: str, db_path: str, project_dir: str) -> dict[str, Any]:
    """Gather, decide, render and write every report of the night; store the decisions."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    return build_night(settings, date.fromisoformat(run_date))


@flow(name="report")
def report_flow(run_date: str | None = None, db_path: str | None = None,
                project_dir: str | None = None) -> dict[str, Any]:
    """Promotion reports for the night ``run_date`` (YYYY-MM-DD; default: the last night the
    A/B analysis stored, else yesterday)."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    try:
        night = date.fromisoformat(run_date) if run_date else default_night(settings)
    except ValueError:
        raise UsageError(f"run_date {run_date!r} is not a date (YYYY-MM-DD)") from None
    result = build_reports(night.isoformat(), str(settings.db_path), str(settings.project_dir))
    for report in result["prompts"]:
        name = md(report["prompt"])  # the UI renders these as Markdown: escaped like the files
        create_markdown_artifact(
            key=artifact_key("report", report["prompt"]),
            markdown=artifact_markdown(report, result["run_date"]),
            description=f"{name}: {report['decision']} ({result['run_date']})")
        create_link_artifact(
            key=artifact_key("report-html", report["prompt"]),
            link=Path(report["html"]).as_uri(),
            link_text=f"{name}: {report['decision']} ({result['run_date']})",
            description=f"Promotion report of {name}, night of {result['run_date']}")
    create_link_artifact(key="report-index", link=Path(result["index"]).as_uri(),
                         link_text=f"Promotion reports of {result['run_date']}",
                         description="Every report of the night and the nights before")
    return result
