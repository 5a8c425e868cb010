"""The ``ab-analysis`` flow and step: analyse every experiment as of the end of a date, store
the night's results, and publish a Markdown summary."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown
from flywheel.tasks.ab import markdown_summary, run_nightly_analysis
from flywheel.tasks.config import load_settings


def analyse_experiments(night: Night) -> dict[str, Any]:
    """Aggregate, test and store every experiment's results as of the end of the night."""
    report = run_nightly_analysis(night.settings, night.run_date)
    publish_markdown("ab-analysis", markdown_summary(report),
                     f"A/B results as of the end of {night.run_date}")
    return report


@flow(name="ab-analysis")
def ab_analysis_flow(
    run_date: date, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """A/B statistics for every experiment file as of the end of ``run_date`` (YYYY-MM-DD)."""
    return analyse_experiments(Night.of(load_settings(db=db_path, project_dir=project_dir), run_date))
