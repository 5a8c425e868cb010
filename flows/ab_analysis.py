"""The ``ab-analysis`` flow: analyse every experiment as of the end of a date, store the
night's results, and publish a Markdown summary."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flywheel.tasks.ab import markdown_summary, run_nightly_analysis
from flywheel.tasks.config import load_settings


@task(name="analyse-experiments")
def analyse_experiments(run_date: str, db_path: str, project_dir: str | None) -> dict[str, Any]:
    """Aggregate, test and store every experiment's results for ``run_date``."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    return run_nightly_analysis(settings, date.fromisoformat(run_date))


@flow(name="ab-analysis")
def ab_analysis_flow(
    run_date: str, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """A/B statistics for every experiment file as of the end of ``run_date`` (YYYY-MM-DD)."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    report = analyse_experiments(run_date, str(settings.db_path), str(settings.project_dir))
    create_markdown_artifact(
        key="ab-analysis",
        markdown=markdown_summary(report),
        description=f"A/B results as of the end of {run_date}",
    )
    return report
