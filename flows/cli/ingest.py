"""``flywheel ingest``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.common import JsonOption, app, emit, settings_of


def _human(summary: dict[str, Any]) -> str:
    lines = [
        f"files: {summary['files_seen']} seen, {summary['files_ingested']} ingested, "
        f"{summary['files_skipped']} already ingested, {summary['files_failed']} unreadable",
        f"requests: {summary['requests_inserted']} new, {summary['requests_duplicate']} duplicate",
        f"feedback: {summary['feedback_inserted']} new, {summary['feedback_duplicate']} duplicate "
        f"({summary['feedback_orphaned']} waiting for their request)",
        f"rejected records: {summary['rejected']} (see the rejected_records table)",
    ]
    lines += [f"unreadable: {f['path']}: {f['reason']}" for f in summary["failures"]]
    return "\n".join(lines)


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked recursively).")],
    as_json: JsonOption = False,
) -> None:
    """Ingest request and feedback logs (JSONL, JSONL.gz, Parquet) into the store."""
    from flows.ingest import ingest_flow
    from tasks.ingest.files import discover

    discover(paths)  # bad paths are a usage error before any work starts
    settings = settings_of(ctx)
    summary = ingest_flow(
        paths=[str(p) for p in paths],
        db_path=str(settings.db_path),
        project_dir=str(settings.project_dir),
    )
    emit(summary, as_json, _human)
    if summary["files_failed"]:
        raise typer.Exit(1)
