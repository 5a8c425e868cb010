"""The ``allocate`` flow and step: after the night's A/B analysis, the next day's weights of
every bandit experiment (an experiment file with ``allocation:``; docs/statistics.md,
"Adaptive allocation"), stored per period for the serving snapshot to publish."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown
from flywheel.tasks.ab import run_nightly_allocation
from flywheel.tasks.config import load_settings
from flywheel.tasks.fmt import rate


def allocation_markdown(result: dict[str, Any]) -> str:
    """The night's allocations as a Markdown list."""
    if not result["experiments"]:
        return "No bandit experiment runs tomorrow."
    lines = [f"# Allocation from {result['date']}", ""]
    for item in result["experiments"]:
        weights = ", ".join(f"{v} {rate(w)}" for v, w in item["weights"].items())
        lines.append(f"- **{item['experiment']}** from {item['starts_on']} ({item['phase']}): "
                     f"{weights}" + (f" — {item['note']}" if item["note"] else ""))
    return "\n".join(lines)


def allocate_night(night: Night) -> dict[str, Any]:
    """The night's step: every running bandit's weights for the next day."""
    result = run_nightly_allocation(night.settings, night.run_date)
    publish_markdown("allocate", allocation_markdown(result),
                     f"bandit weights computed on {night.run_date}")
    return result


@flow(name="allocate")
def allocate_flow(
    run_date: date, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """The next day's bandit weights from the A/B results of ``run_date`` (YYYY-MM-DD)."""
    return allocate_night(Night.of(load_settings(db=db_path, project_dir=project_dir), run_date))
