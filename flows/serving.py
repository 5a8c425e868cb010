"""The ``serving-snapshot`` flow: write serving.json (docs/serving.md) and publish what it holds."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flywheel.tasks.config import load_settings
from flywheel.tasks.serving import write_snapshot
from flywheel.tasks.serving.report import snapshot_markdown


@task(name="write-serving-snapshot")
def write_serving_snapshot(db_path: str, project_dir: str, reason: str) -> dict[str, Any]:
    """Build serving.json from the registry, experiment files and ramps; write it atomically."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    result = write_snapshot(settings, reason=reason)
    for problem in result["problems"]:
        get_run_logger().warning("serving snapshot: %s", problem)
    return result


@flow(name="serving-snapshot")
def serving_snapshot_flow(
    reason: str = "manual", db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """Write the serving snapshot (``serving_path``, default ``<project>/serving.json``)."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    result = write_serving_snapshot(str(settings.db_path), str(settings.project_dir), reason)
    create_markdown_artifact(key="serving-snapshot", markdown=snapshot_markdown(result),
                             description=f"serving.json generation {result['generation']}")
    return result
