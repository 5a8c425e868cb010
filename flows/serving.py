"""The ``serving-snapshot`` flow and step: write serving.json (docs/serving.md) and publish what
it holds."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown, warning
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.serving import write_snapshot
from flywheel.tasks.serving.report import snapshot_markdown


def write_serving_snapshot(settings: Settings, reason: str, *, skip_unchanged: bool = False
                           ) -> dict[str, Any]:
    """Build serving.json from the registry, experiment files and ramps; write it atomically
    (``skip_unchanged``: not when the file in place serves the same content); publish what it
    holds."""
    result = write_snapshot(settings, reason=reason, skip_unchanged=skip_unchanged)
    for problem in result["problems"]:
        warning("serving snapshot: %s", problem)
    publish_markdown("serving-snapshot", snapshot_markdown(result),
                     f"serving.json generation {result['generation']}")
    return result


def snapshot_night(night: Night) -> dict[str, Any]:
    """The night's step: the snapshot with the night's labels, experiments and ramps (a re-run
    of the night that changes nothing writes no new generation)."""
    return write_serving_snapshot(night.settings, f"nightly {night.run_date.isoformat()}",
                                  skip_unchanged=True)


@flow(name="serving-snapshot")
def serving_snapshot_flow(
    reason: str = "manual", db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """Write the serving snapshot (``serving_path``, default ``<project>/serving.json``)."""
    return write_serving_snapshot(load_settings(db=db_path, project_dir=project_dir), reason)
