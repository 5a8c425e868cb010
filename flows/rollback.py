"""The ``rollback`` flow: move a label back to where it was before its last promotion."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flywheel.flows.mlflow_mirror import follow_label_move
from flywheel.flows.serving import write_serving_snapshot
from flywheel.tasks.commands import move_label_back
from flywheel.tasks.config import load_settings
from flywheel.tasks.registry import DEFAULT_LABEL, artifact_key, move_markdown


@flow(name="rollback")
def rollback_flow(
    name: str, label: str = DEFAULT_LABEL, reason: str | None = None, by: str | None = None,
    db_path: str | None = None, project_dir: str | None = None,
) -> dict[str, Any]:
    """Undo the newest promotion of ``name@label`` not yet rolled back (docs/registry.md).

    Publishes a Markdown artifact of what changed and rewrites serving.json.
    """
    settings = load_settings(db=db_path, project_dir=project_dir)
    result = move_label_back(settings, name, label, reason, by)
    result["serving"] = write_serving_snapshot(settings, f"rollback {name}@{label}")
    create_markdown_artifact(
        key=artifact_key("rollback", name, label), markdown=move_markdown(result),
        description=f"rollback {name}@{label}",
    )
    if settings.mlflow_tracking_uri and result.get("changed", True):  # the alias follows now
        result["mlflow_mirror"] = follow_label_move(settings, name)
    return result
