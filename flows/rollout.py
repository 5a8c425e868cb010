"""The ``rollout`` flow: the night's decision on every ramp (advance, hold, roll back)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flywheel.tasks.config import load_settings
from flywheel.tasks.serving.report import rollout_markdown
from flywheel.tasks.serving.rollout import RolloutStepError, advance_rollouts


@task(name="advance-rollouts")
def decide_rollouts(run_date: str, db_path: str, project_dir: str) -> dict[str, Any]:
    """Decide once on every ramp for ``run_date`` from that night's A/B results."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    return advance_rollouts(settings, date.fromisoformat(run_date))


@flow(name="rollout")
def rollout_flow(
    run_date: str, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """Advance, hold or roll back every ramp for the night of ``run_date`` (YYYY-MM-DD);
    publishes the decisions with their evidence as a Markdown artifact."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    try:
        result = decide_rollouts(run_date, str(settings.db_path), str(settings.project_dir))
    except RolloutStepError as exc:
        create_markdown_artifact(key="rollout", markdown=rollout_markdown(exc.result),
                                 description=f"Ramp decisions of the night of {run_date}")
        raise
    create_markdown_artifact(key="rollout", markdown=rollout_markdown(result),
                             description=f"Ramp decisions of the night of {run_date}")
    return result
