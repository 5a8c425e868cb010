"""The ``mlflow-mirror`` flow: copy eval runs, A/B nights, prompt versions and labels into
MLflow (docs/mlflow.md). MLflow trouble is a warning, never a failed flow."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flywheel.tasks import commands
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.mlflow_mirror import run_mirror


def _markdown(result: dict[str, Any]) -> str:
    lines = ["# MLflow mirror", "", f"store: `{result['tracking_uri']}`, status: "
             f"**{result['status']}**", "", "| what | count |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {result[k]} |" for k in
              ("runs_created", "runs_updated", "runs_unchanged", "runs_recreated",
               "prompt_versions_created", "aliases_moved", "errors")]
    if result.get("warning"):
        lines += ["", f"Warning: {result['warning']}"]
    return "\n".join(lines)


@flow(name="mlflow-mirror")
def mlflow_mirror_flow(
    db_path: str | None = None, project_dir: str | None = None, full: bool = False,
    prompts_only: bool = False, names: list[str] | None = None,
) -> dict[str, Any]:
    """Mirror flywheel into the MLflow store of ``MLFLOW_TRACKING_URI`` (a note when unset).

    ``full`` re-checks every item against MLflow, not only those not mirrored yet;
    ``prompts_only`` with ``names`` mirrors just those prompts' versions and aliases.
    """
    settings = load_settings(db=db_path, project_dir=project_dir)
    result = run_mirror(settings, full=full, names=names, runs=not prompts_only)
    if not result["enabled"]:
        return result
    if result["warning"]:
        get_run_logger().warning("%s", result["warning"])
    create_markdown_artifact(key="mlflow-mirror", markdown=_markdown(result),
                             description="MLflow mirror")
    return result


def follow_label_move(settings: Settings, name: str) -> dict[str, Any]:
    """After a promote or rollback: move the MLflow aliases of ``name`` now rather than at the
    next nightly mirror (a few seconds; a warning, never an error, when MLflow is unusable)."""
    result = commands.follow_label_move(settings, name)
    if result.get("warning"):
        get_run_logger().warning("%s", result["warning"])
    return result
