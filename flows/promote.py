"""The ``promote`` flow: point a label at a version, recorded in the label history."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flywheel.flows.mlflow_mirror import follow_label_move
from flywheel.flows.serving import write_serving_snapshot
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.registry.catalog import move_diff
from flywheel.tasks.registry.labels import DEFAULT_LABEL, promote
from flywheel.tasks.registry.markdown import artifact_key, move_markdown
from flywheel.tasks.serving.rollout import promote_with_ramp


@task(name="promote-label")
def promote_label(
    db_path: str, name: str, ref: str, label: str, reason: str | None, by: str | None,
    timeout_s: float, ramp: list[float] | None = None, min_users_per_stage: int = 200,
) -> dict[str, Any]:
    """Move ``name@label`` to ``ref`` in one transaction; returns the move and the content diff.

    With ``ramp`` (stage fractions), also start a promotion ramp (docs/serving.md)."""
    with connect(db_path, timeout_s=timeout_s) as con:
        rollout = None
        if ramp:
            result, started = promote_with_ramp(con, name, ref, ramp, label=label, reason=reason,
                                                by=by, min_users_per_stage=min_users_per_stage)
            rollout = started.to_dict()
        else:
            result = promote(con, name, ref, label=label, reason=reason, by=by)
        return {**result.to_dict(), "diff": move_diff(con, result.from_hash, result.to_hash)
                if result.changed else "", "rollout": rollout}


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
    result = promote_label(str(settings.db_path), name, ref, label, reason, by,
                           settings.db_lock_timeout_s, ramp,
                           min_users_per_stage or settings.rollout_min_users_per_stage)
    if result["changed"]:
        result["serving"] = write_serving_snapshot(
            str(settings.db_path), str(settings.project_dir), f"promote {name}@{label}")
    create_markdown_artifact(
        key=artifact_key("promote", name, label), markdown=move_markdown(result),
        description=f"promote {name}@{label}",
    )
    if settings.mlflow_tracking_uri and result.get("changed", True):  # the alias follows now
        result["mlflow_mirror"] = follow_label_move(settings, name)
    return result
