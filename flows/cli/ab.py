"""``flywheel ab report``: A/B statistics for one or all experiments."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, settings_of
from flywheel.tasks.errors import UsageError

ab_app = typer.Typer(help="A/B experiments: statistics, integrity checks, sample size.",
                     no_args_is_help=True)
app.add_typer(ab_app, name="ab")


@ab_app.command("report")
def report(
    ctx: typer.Context,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="One experiment (default: all).")
    ] = None,
    run_date: Annotated[
        str | None,
        typer.Option("--date", help="As of the end of YYYY-MM-DD (default: all data)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A/B statistics per experiment: checks, arms, per metric the lift with its CI, raw and
    adjusted p-values, chance to win and status."""
    from flywheel.tasks.ab import build_report, text_summary

    try:
        night = date.fromisoformat(run_date) if run_date else None
    except ValueError:
        raise UsageError(f"--date: {run_date!r} is not a date (YYYY-MM-DD)") from None
    result = build_report(settings_of(ctx), night, experiment)
    emit(result, as_json, text_summary)
