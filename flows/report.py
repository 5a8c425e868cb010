"""The ``report`` flow and step: one night's promotion reports (reports/DATE/*.html|.md and
index.html), a Markdown artifact per prompt with the decision and its key numbers, and link
artifacts to the HTML files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_link, publish_markdown
from flywheel.tasks.config import load_settings
from flywheel.tasks.registry import artifact_key
from flywheel.tasks.reports import artifact_markdown, build_night, default_night, md


def build_reports(night: Night) -> dict[str, Any]:
    """Gather, decide, render and write every report of the night; store the decisions;
    publish an artifact per prompt and a link to the night's index."""
    result = build_night(night.settings, night.run_date)
    for report in result["prompts"]:
        name = md(report["prompt"])  # the UI renders these as Markdown: escaped like the files
        title = f"{name}: {report['decision']} ({result['run_date']})"
        publish_markdown(artifact_key("report", report["prompt"]),
                         artifact_markdown(report, result["run_date"]), title)
        publish_link(artifact_key("report-html", report["prompt"]), Path(report["html"]).as_uri(),
                     title, f"Promotion report of {name}, night of {result['run_date']}")
    publish_link("report-index", Path(result["index"]).as_uri(),
                 f"Promotion reports of {result['run_date']}",
                 "Every report of the night and the nights before")
    return result


@flow(name="report")
def report_flow(run_date: date | None = None, db_path: str | None = None,
                project_dir: str | None = None) -> dict[str, Any]:
    """Promotion reports for the night ``run_date`` (YYYY-MM-DD; default: the last night the
    A/B analysis stored, else yesterday)."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    return build_reports(Night.of(settings, run_date or default_night(settings)))
