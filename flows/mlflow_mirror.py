"""The ``mlflow-mirror`` flow: copy eval runs, A/B nights, prompt versions and labels into
MLflow (docs/mlflow.md). MLflow trouble is a warning, never a failed flow."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown, warning
from flywheel.tasks import commands
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.mlflow_mirror import OFF_NOTE, run_mirror


def _markdown(result: dict[str, Any]) -> str:
    lines = ["# MLflow mirror", "", f"store: `{result['tracking_uri']}`, status: "
             f"**{result['status']}**", "", "| what | count |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {result[k]} |" for k in
              ("runs_created", "runs_updated", "runs_unchanged", "runs_recreated",
               "prompt_versions_created", "aliases_moved", "errors")]
    if result.get("warning"):
        lines += ["", f"Warning: {result['warning']}"]
    return "\n".join(lines)


def mirror(settings: Settings, *, full: bool = False, names: list[str] | None = None,
           runs: bool = True) -> dict[str, Any]:
    """Mirror into MLflow; MLflow trouble is a logged warning in the result, never an error."""
    result = run_mirror(settings, full=full, names=names, runs=runs)
    if not result["enabled"]:
        return result
    if result["warning"]:
        warning("%s", result["warning"])
    publish_markdown("mlflow-mirror", _markdown(result), "MLflow mirror")
    return result


def mirror_night(night: Night) -> dict[str, Any]:
    """The night's step: what is not mirrored yet (a note when no MLflow store is set)."""
    if not night.settings.mlflow_tracking_uri:
        return {"note": OFF_NOTE}
    return mirror(night.settings)


@flow(name="mlflow-mirror")
def mlflow_mirror_flow(
    db_path: str | None = None, project_dir: str | None = None, full: bool = False,
    prompts_only: bool = False, names: list[str] | None = None,
) -> dict[str, Any]:
    """Mirror flywheel into the MLflow store of ``MLFLOW_TRACKING_URI`` (a note when unset).

    ``full`` re-checks every item against MLflow, not only those not mirrored yet;
    ``prompts_only`` with ``names`` mirrors just those prompts' versions and aliases.
    """
    return mirror(load_settings(db=db_path, project_dir=project_dir), full=full, names=names,
                  runs=not prompts_only)


def follow_label_move(settings: Settings, name: str) -> dict[str, Any]:
    """After a promote or rollback: move the MLflow aliases of ``name`` now rather than at the
    next nightly mirror (a few seconds; a warning, never an error, when MLflow is unusable)."""
    result = commands.follow_label_move(settings, name)
    if result.get("warning"):
        warning("%s", result["warning"])
    return result
