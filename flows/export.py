"""The ``export`` flow: fine-tuning JSONL, preference pairs and hard examples, with an artifact
of what was written and what was dropped (and why)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from flywheel.tasks.config import load_settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.export import EXPORTERS, Window

KINDS = tuple(EXPORTERS)


@task(name="export-one")
def export_one(
    kind: str, out_dir: str, db_path: str, project_dir: str, since: str | None, until: str | None
) -> dict[str, Any]:
    """Write one export into ``out_dir``; returns its summary."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    return EXPORTERS[kind](settings, out_dir, Window.parse(since, until))


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
    Window.parse(since, until)  # bad dates are a usage error before any work starts
    settings = load_settings(db=db_path, project_dir=project_dir)
    db, proj = str(settings.db_path), str(settings.project_dir)
    results: dict[str, Any] = {}
    for kind in kinds:
        target = Path(out_dir) if len(kinds) == 1 else Path(out_dir) / kind
        results[kind] = export_one(kind, str(target), db, proj, since, until)
    create_table_artifact(
        key="export-summary",
        table=[row for summary in results.values() for row in _rows(summary)],
        description="Examples written per export file, and candidates dropped by reason.",
    )
    return results
