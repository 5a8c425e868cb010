"""The ``rollback`` flow: move a label back to where it was before its last promotion."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flywheel.flows.mlflow_mirror import follow_label_move
from flywheel.flows.serving import write_serving_snapshot
from flywheel.tasks.commands import move_label_back
from flywheel.tasks.config import load_settings
from flywheel.tasks.registry import DEFAULT_LABEL, artifact_key, move_markdown


@task(name="rollback-label")
def rollback_label(
    db_path: str, project_dir: str, name: str, label: str, reason: str | None, by: str | None
) -> dict[str, Any]:
    """Roll ``name@label`` back one promotion in one transaction; returns the move and diff."""
    return move_label_back(load_settings(db=db_path, project_dir=project_dir), name, label,
                           reason, by)


@flow(name="rollback")
def rollback_flow(
    name: str, label: str = DEFAULT_LABEL, reason: str | None = None, by: str | None = None,
    db_path: str | None = None, project_dir: str | None = None,
) -> dict[str, Any]:
    """Undo the newest promotion of ``name@label`` not yet rolled back (docs/registry.md).

    Publishes a Markdown artifact of what changed and rewrites serving.json.
    """
    settings = load_settings(db=db_path, project_dir=project_dir)
    result = rollback_label(str(settings.db_path), str(settings.project_dir), name, label,
                            reason, by)
    result["serving"] = write_serving_snapshot(
        str(settings.db_path), str(settings.project_dir), f"rollback {name}@{label}")
    create_markdown_artifact(
        key=artifact_key("rollback", name, label), markdown=move_markdown(result),
        description=f"rollback {name}@{label}",
    )
    if settings.mlflow_tracking_uri and result.get("changed", True):  # the alias follows now
        result["mlflow_mirror"] = follow_label_move(settings, name)
    return result
