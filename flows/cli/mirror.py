"""``flywheel mlflow sync`` and ``flywheel mlflow status``: the MLflow mirror by hand."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, open_store, run_in_foreground, settings_of
from flywheel.tasks.errors import UsageError

mlflow_app = typer.Typer(help="Mirror eval runs, A/B nights, prompt versions and labels into "
                         "MLflow (set MLFLOW_TRACKING_URI).", no_args_is_help=True)
app.add_typer(mlflow_app, name="mlflow")


def _sync_human(r: dict[str, Any]) -> str:
    lines = [f"MLflow mirror to {r['tracking_uri']}: {r['status']}",
             f"  runs       {r['runs_created']} created, {r['runs_updated']} updated, "
             f"{r['runs_unchanged']} unchanged, {r['runs_recreated']} recreated",
             f"  prompts    {r['prompt_versions_created']} version(s) registered, "
             f"{r['aliases_moved']} alias(es) moved"]
    lines += [f"  skipped    {a['prompt']}@{a['label']}: {a['reason']}"
              for a in r["aliases_skipped"]]
    if r.get("warning"):
        lines.append(f"  warning    {r['warning']}")
    return "\n".join(lines)


@mlflow_app.command("sync")
def sync(
    ctx: typer.Context,
    full: Annotated[bool, typer.Option(
        "--full", help="Re-check every item against MLflow, not only those not mirrored yet "
        "(after the MLflow store was replaced or runs were deleted there).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Mirror now what the nightly step mirrors; exit 1 when MLflow could not take everything."""
    from flywheel.flows.mlflow_mirror import mlflow_mirror_flow
    from flywheel.tasks.mlflow_mirror import OFF_NOTE

    settings = settings_of(ctx)
    if not settings.mlflow_tracking_uri:
        raise UsageError(OFF_NOTE)
    result = run_in_foreground(mlflow_mirror_flow, db_path=str(settings.db_path),
                               project_dir=str(settings.project_dir), full=full)
    emit(result, as_json, _sync_human)
    if result["status"] != "ok":
        raise typer.Exit(1)


def _status_human(r: dict[str, Any]) -> str:
    from flywheel.tasks.mlflow_mirror import OFF_NOTE

    if not r["enabled"]:
        return OFF_NOTE
    if r["message"]:
        return r["message"]
    return (f"MLflow mirror ({r['tracking_uri']}) is up to date; last complete sync "
            f"{r['last_success_at']}")


@mlflow_app.command("status")
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Whether MLflow holds what flywheel holds: last success, last error, what is pending."""
    from flywheel.tasks.mlflow_mirror import mirror_status

    settings = settings_of(ctx)
    with open_store(settings) as con:
        result = mirror_status(con, settings).to_dict()
    emit(result, as_json, _status_human)
