"""The ``export`` flow: fine-tuning JSONL, preference pairs and hard examples, with an artifact
of what was written and what was dropped (and why); and the night's ``export`` step."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_table
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.export import EXPORTERS, Tools, Window

KINDS = tuple(EXPORTERS)


def _rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    kind = summary["kind"]
    rows = [{"export": kind, "measure": "examples written", "value": summary["examples"]},
            {"export": kind, "measure": "candidates", "value": summary["candidates"]}]
    rows += [{"export": kind, "measure": f"file {name}", "value": f["lines"]}
             for name, f in summary["files"].items()]
    for category, value in summary["dropped"].items():
        if isinstance(value, dict):
            rows += [{"export": kind, "measure": f"dropped: {category}: {reason}", "value": n}
                     for reason, n in value.items()]
        else:
            rows.append({"export": kind, "measure": f"dropped: {category}", "value": value})
    return rows


def write_exports(settings: Settings, out_dir: Path, kinds: list[str], window: Window,
                  night: date | None = None) -> dict[str, Any]:
    """Write each export of ``kinds``: one kind into ``out_dir`` itself, several into
    ``out_dir/<kind>/``; publish what was written and dropped; return each kind's summary.
    ``night``: the exports are that night's parts. The exports share one set of tools: what
    their redactor and leakage guard found in a text is found once."""
    tools = Tools.from_settings(settings)
    results = {kind: EXPORTERS[kind](settings, str(out_dir if len(kinds) == 1 else out_dir / kind),
                                     window, night=night, tools=tools)
               for kind in kinds}
    publish_table("export-summary", [row for s in results.values() for row in _rows(s)],
                  "Examples written per export file, and candidates dropped by reason.")
    return results


def export_night(night: Night) -> dict[str, Any]:
    """The night's step: the night's part of every export (the feedback of that night, less
    what earlier nights' parts wrote) into ``<project>/exports/<date>/``."""
    out_dir = night.settings.project_dir / "exports" / night.run_date.isoformat()
    day = night.run_date.isoformat()
    return write_exports(night.settings, out_dir, list(KINDS), Window.parse(day, day),
                         night.run_date)


@flow(name="export")
def export_flow(
    out_dir: str,
    kinds: list[str] | None = None,
    db_path: str | None = None,
    project_dir: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """Write the exports named in ``kinds`` (default: all three). One kind is written into
    ``out_dir`` itself; several go to ``out_dir/<kind>/``. ``since``/``until`` are dates (both
    included) or ISO times bounding the feedback considered."""
    kinds = list(kinds or KINDS)
    unknown = [k for k in kinds if k not in EXPORTERS]
    if unknown:
        raise UsageError(f"unknown export kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    window = Window.parse(since, until)  # bad dates are a usage error before any work starts
    return write_exports(load_settings(db=db_path, project_dir=project_dir), Path(out_dir), kinds,
                         window)
