"""The ``optimize`` flow (``flywheel optimize propose``) and the night's ``optimize`` step:
candidate prompts proposed from the feedback (tasks/optimize, docs/optimize.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown
from flywheel.tasks.config import load_settings
from flywheel.tasks.errors import FlywheelError
from flywheel.tasks.optimize import auto_night, proposals_markdown, propose, propose_night


def propose_candidates(night: Night) -> dict[str, Any]:
    """The night's step: a proposal for every prompt that opts in (``[auto.NAME]``), after the
    ingest and before the offline eval (which then compares the candidate with production)."""
    result = propose_night(night.settings, night.run_date)
    publish_markdown("optimize", proposals_markdown(result["proposals"]),
                     f"Candidates proposed from the feedback for the night of {night.run_date}")
    return result


class AutoStepError(FlywheelError):
    """Some prompt's automation failed tonight (the others were decided)."""


def automate_candidates(night: Night) -> dict[str, Any]:
    """The night's automation step (tasks/optimize/_auto.py): an offline win starts a ramp, the
    ramp's A/B rolls it back on a loss or holds it until it wins; before the rollout step."""
    result = auto_night(night.settings, night.run_date)
    lines = [f"- {a['name']}: {a['action']}" + (f" ({a['rule']})" if a.get("rule") else "")
             + f" — {a['reason']}" for a in result["actions"]]
    lines += [f"- {e['name']}: ERROR {e['error']}" for e in result["errors"]]
    publish_markdown("auto-promote", "# Guarded automation\n\n" + ("\n".join(lines) or
                     "No prompt opts in (`[auto.NAME]` in flywheel.toml)."),
                     f"The automation's moves on the night of {night.run_date}")
    if result["errors"]:
        raise AutoStepError("auto-promote: " + "; ".join(f"{e['name']}: {e['error']}"
                                                         for e in result["errors"]))
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
