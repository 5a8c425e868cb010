"""``flywheel optimize propose NAME``: a candidate prompt from the feedback (docs/optimize.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, run_work, settings_of
from flywheel.tasks.errors import UsageError

optimize_app = typer.Typer(help="Candidate prompts proposed from the users' corrections.",
                           no_args_is_help=True)
app.add_typer(optimize_app, name="optimize")
METHODS = ("fewshot", "rewrite", "all")


@optimize_app.command("propose")
def propose_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The prompt name (its production version is the parent).")],
    method: Annotated[str, typer.Option(help="fewshot, rewrite or all.")] = "all",
    run_date: Annotated[str | None, typer.Option(
        "--date", help="Use the feedback up to the end of this night (YYYY-MM-DD; default: now).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a candidate version built from the corrections (its own file under prompts/),
    with its provenance; print the commands that would evaluate and ramp it."""
    if method not in METHODS:
        raise UsageError(f"--method {method!r}: expected one of {', '.join(METHODS)}")
    try:
        night = date.fromisoformat(run_date) if run_date else None
    except ValueError as exc:
        raise UsageError(f"bad --date: {exc}") from None
    settings = settings_of(ctx)

    def in_process() -> dict[str, Any]:
        from flywheel.tasks.optimize import propose

        return propose(settings, name, method, night).to_dict()

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.optimize import optimize_flow

        return optimize_flow(name=name, method=method, run_date=night,
                             db_path=str(settings.db_path), project_dir=str(settings.project_dir))

    result = run_work(ctx, in_process, as_flow_run)

    def human(r: dict[str, Any]) -> str:
        from flywheel.tasks.optimize import proposal_lines

        return "\n".join(proposal_lines(r))

    emit(result, as_json, human)
