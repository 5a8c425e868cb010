"""The ``optimize`` flow (``flywheel optimize propose``) and the night's ``optimize`` step:
candidate prompts proposed from the feedback (tasks/optimize, docs/optimize.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown
from flywheel.tasks.config import load_settings
from flywheel.tasks.optimize import propose, propose_night, proposals_markdown


def propose_candidates(night: Night) -> dict[str, Any]:
    """The night's step: a proposal for every prompt that opts in (``[auto.NAME]``), after the
    ingest and before the offline eval (which then compares the candidate with production)."""
    result = propose_night(night.settings, night.run_date)
    publish_markdown("optimize", proposals_markdown(result["proposals"]),
                     f"Candidates proposed from the feedback for the night of {night.run_date}")
    return result


@flow(name="optimize")
def optimize_flow(
    name: str, method: str = "all", run_date: date | None = None,
    label_candidate: bool = False, db_path: str | None = None, project_dir: str | None = None,
) -> dict[str, Any]:
    """Propose a candidate for prompt ``name`` from its feedback (up to the end of ``run_date``,
    default now): few-shot curation, instruction rewrite, or both."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    proposal = propose(settings, name, method, run_date, label_candidate=label_candidate)
    publish_markdown("optimize", proposals_markdown([proposal.to_dict()]),
                     f"Candidate proposed for {name}")
    return proposal.to_dict()
