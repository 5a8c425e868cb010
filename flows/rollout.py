"""The ``rollout`` flow and step: the night's decision on every ramp (advance, hold, roll back)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown
from flywheel.tasks.config import load_settings
from flywheel.tasks.serving.report import rollout_markdown
from flywheel.tasks.serving.rollout import RolloutStepError, advance_rollouts


def decide_rollouts(night: Night) -> dict[str, Any]:
    """Decide once on every ramp from the night's A/B results; publish the decisions with their
    evidence (also when one ramp's decision failed: :class:`RolloutStepError` is re-raised)."""
    description = f"Ramp decisions of the night of {night.run_date}"
    try:
        result = advance_rollouts(night.settings, night.run_date)
    except RolloutStepError as exc:
        publish_markdown("rollout", rollout_markdown(exc.result), description)
        raise
    publish_markdown("rollout", rollout_markdown(result), description)
    return result


@flow(name="rollout")
def rollout_flow(
    run_date: date, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """Advance, hold or roll back every ramp for the night of ``run_date`` (YYYY-MM-DD)."""
    return decide_rollouts(Night.of(load_settings(db=db_path, project_dir=project_dir), run_date))
