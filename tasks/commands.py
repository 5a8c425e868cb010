"""The work of the one-off commands, as plain functions of :class:`Settings`.

Each manual flow's tasks call these; a command run with no Prefect server configured calls them
directly in its own process (``flywheel.flows.cli.common.run_work``), so both give the same
result. Nothing here imports Prefect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect


def sync_prompt_files(settings: Settings, folder: str | None, files: list[str] | None,
                      by: str | None) -> dict[str, Any]:
    """Validate and register prompt files (a folder's, or the given files); the sync summary
    with the request-link report. Invalid files are listed in it, not raised."""
    from flywheel.tasks.registry import folder_files, link_report, sync_paths

    paths = folder_files(Path(folder)) if folder else [Path(f) for f in files or []]
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        result = sync_paths(con, paths, folder=Path(folder) if folder else None,
                            base=settings.project_dir, by=by)
        return {**result.to_dict(), "links": link_report(con)}


def move_label_forward(settings: Settings, name: str, ref: str, label: str, reason: str | None,
                       by: str | None, ramp: list[float] | None = None,
                       min_users_per_stage: int | None = None) -> dict[str, Any]:
    """Move ``name@label`` to ``ref`` in one transaction; the move and the content diff. With
    ``ramp`` (stage fractions), also start a promotion ramp (docs/serving.md)."""
    from flywheel.tasks.registry import move_diff, promote
    from flywheel.tasks.reports import load_rules
    from flywheel.tasks.serving.rollout import promote_with_ramp

    # the ramp's thresholds: `rollout` of decisions.yaml (tasks/reports/rules.py)
    ramp_rules = load_rules(settings.project_dir).for_prompt(name).rollout if ramp else None
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        rollout = None
        if ramp and ramp_rules:
            result, started = promote_with_ramp(
                con, name, ref, ramp, label=label, reason=reason, by=by,
                min_users_per_stage=min_users_per_stage or ramp_rules.min_users_per_stage,
                guardrails=ramp_rules.guardrails)
            rollout = started.to_dict()
        else:
            result = promote(con, name, ref, label=label, reason=reason, by=by)
        return {**result.to_dict(), "diff": move_diff(con, result.from_hash, result.to_hash)
                if result.changed else "", "rollout": rollout}


def move_label_back(settings: Settings, name: str, label: str, reason: str | None,
                    by: str | None) -> dict[str, Any]:
    """Roll ``name@label`` back one promotion in one transaction; the move and the diff."""
    from flywheel.tasks.registry import move_diff, rollback

    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        result = rollback(con, name, label=label, reason=reason, by=by)
        return {**result.to_dict(), "diff": move_diff(con, result.from_hash, result.to_hash)}


def follow_label_move(settings: Settings, name: str) -> dict[str, Any]:
    """After a promote or rollback: move the MLflow aliases of ``name`` now rather than at the
    next nightly mirror (a warning in the result, never an error, when MLflow is unusable)."""
    from flywheel.tasks.mlflow_mirror import run_mirror

    return run_mirror(settings, names=[name], runs=False)
