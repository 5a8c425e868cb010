"""``flywheel report`` and ``flywheel reports open``: promotion reports (docs/contracts.md, "Reports")."""

from __future__ import annotations

import re
import webbrowser
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, run_work, settings_of
from flywheel.tasks.errors import UsageError

reports_app = typer.Typer(help="Promotion reports: open the latest.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")
_NIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _human(result: dict[str, Any]) -> str:
    lines = [f"Reports of the night of {result['run_date']}: {result['index']}"]
    for p in result["prompts"]:
        lines.append(f"  {p['prompt']}: {p['decision']} ({p['rule']}) {p['summary']}")
        if p["command"]:
            lines.append(f"    run:  {p['command']}")
            lines.append(f"    undo: {p['undo']}")
    if not result["prompts"]:
        lines.append("  no prompt with a candidate, a running experiment or a watched promotion")
    return "\n".join(lines)


@app.command("report")
def report(
    ctx: typer.Context,
    run_date: Annotated[str | None, typer.Option(
        "--date", help="The night YYYY-MM-DD (default: the last night with A/B results, "
        "else yesterday, UTC).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the night's promotion reports (HTML and Markdown per prompt, and an index):
    PROMOTE / HOLD / REJECT / ROLLBACK with the evidence and the command."""
    if run_date is not None:
        try:
            date.fromisoformat(run_date)
        except ValueError:
            raise UsageError(f"--date: {run_date!r} is not a date (YYYY-MM-DD)") from None
    settings = settings_of(ctx)

    def in_process() -> dict[str, Any]:
        from flywheel.tasks.reports import build_night, default_night

        night = date.fromisoformat(run_date) if run_date else default_night(settings)
        return build_night(settings, night)

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.report import report_flow

        return report_flow(run_date=run_date, db_path=str(settings.db_path),
                           project_dir=str(settings.project_dir))

    result = run_work(ctx, in_process, as_flow_run)
    emit(result, as_json, _human)


def latest_index(reports_dir: Path) -> Path | None:
    """The index of the newest night under ``reports/`` (folders named YYYY-MM-DD)."""
    if not reports_dir.is_dir():
        return None
    nights = sorted(p for p in reports_dir.iterdir()
                    if p.is_dir() and _NIGHT.match(p.name) and (p / "index.html").is_file())
    return nights[-1] / "index.html" if nights else None


@reports_app.command("open")
def open_latest(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Open the latest night's index in the default browser (prints its path when there is no
    report yet or no browser)."""
    reports_dir = settings_of(ctx).dir("reports")
    index = latest_index(reports_dir)
    opened = webbrowser.open(index.as_uri()) if index else False
    result = {"reports_dir": str(reports_dir), "index": str(index) if index else None,
              "opened": bool(opened)}

    def human(r: dict[str, Any]) -> str:
        if r["index"] is None:
            return f"no report yet under {r['reports_dir']} (run `flywheel report`)"
        return (f"opened {r['index']}" if r["opened"]
                else f"no browser to open it with; the latest report index is {r['index']}")

    emit(result, as_json, human)
