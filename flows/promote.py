"""The ``promote`` flow: point a label at a version, recorded in the label history."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.mlflow_mirror import follow_label_move
from tasks.config import load_settings
from tasks.db import connect
from tasks.registry.catalog import move_diff
from tasks.registry.labels import DEFAULT_LABEL, promote
from tasks.registry.markdown import artifact_key, move_markdown


@task(name="promote-label")
def promote_label(
    db_path: str, name: str, ref: str, label: str, reason: str | None, by: str | None,
    timeout_s: float,
) -> dict[str, Any]:
    """Move ``name@label`` to ``ref`` in one transaction; returns the move and the content diff."""
    with connect(db_path, timeout_s=timeout_s) as con:
        result = promote(con, name, ref, label=label, reason=reason, by=by)
        return {**result.to_dict(), "diff": move_diff(con, result.from_hash, result.to_hash)
                if result.changed else ""}


@flow(name="promote")
def promote_flow(
    name: str, ref: str, label: str = DEFAULT_LABEL, reason: str | None = None,
    by: str | None = None, db_path: str | None = None, project_dir: str | None = None,
) -> dict[str, Any]:
    """Promote the version ``ref`` (registered under ``name``) to ``name@label``.

    The first promotion creates the label. Publishes a Markdown artifact of what changed.
    """
    settings = load_settings(db=db_path, project_dir=project_dir)
    result = promote_label(str(settings.db_path), name, ref, label, reason, by,
                           settings.db_lock_timeout_s)
    create_markdown_artifact(
        key=artifact_key("promote", name, label), markdown=move_markdown(result),
        description=f"promote {name}@{label}",
    )
    if settings.mlflow_tracking_uri:  # the MLflow alias follows the label now, not only tonight
        result["mlflow_mirror"] = follow_label_move(settings, name)
    return result
