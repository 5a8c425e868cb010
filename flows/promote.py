"""The ``promote`` flow: point a label at a version, recorded in the label history."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flywheel.flows.mlflow_mirror import follow_label_move
from flywheel.flows.serving import write_serving_snapshot
from flywheel.tasks.commands import move_label_forward
from flywheel.tasks.config import load_settings
from flywheel.tasks.registry import DEFAULT_LABEL, artifact_key, move_markdown


@flow(name="promote")
def promote_flow(
    name: str, ref: str, label: str = DEFAULT_LABEL, reason: str | None = None,
    by: str | None = None, db_path: str | None = None, project_dir: str | None = None,
    ramp: list[float] | None = None, min_users_per_stage: int | None = None,
) -> dict[str, Any]:
    """Promote the version ``ref`` (registered under ``name``) to ``name@label``.

    The first promotion creates the label. ``ramp`` (e.g. ``[0.05, 0.2, 0.5, 1.0]``) serves the
    new version to a growing share of users, one stage per healthy night. Publishes a Markdown
    artifact of what changed and rewrites serving.json.
    """
    settings = load_settings(db=db_path, project_dir=project_dir)
    result = move_label_forward(settings, name, ref, label, reason, by, ramp, min_users_per_stage)
    if result["changed"]:
        result["serving"] = write_serving_snapshot(settings, f"promote {name}@{label}")
    create_markdown_artifact(
        key=artifact_key("promote", name, label), markdown=move_markdown(result),
        description=f"promote {name}@{label}",
    )
    if settings.mlflow_tracking_uri and result.get("changed", True):  # the alias follows now
        result["mlflow_mirror"] = follow_label_move(settings, name)
    return result
