"""``flywheel ingest``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, run_work, settings_of


def _human(summary: dict[str, Any]) -> str:
    lines = [
        f"files: {summary['files_seen']} seen, {summary['files_ingested']} ingested, "
        f"{summary['files_skipped']} already ingested, {summary['files_failed']} unreadable",
        f"requests: {summary['requests_inserted']} new, {summary['requests_duplicate']} duplicate",
        f"feedback: {summary['feedback_inserted']} new, {summary['feedback_duplicate']} duplicate "
        f"({summary['feedback_orphaned']} waiting for their request)",
        f"rejected records: {summary['rejected']} (see the rejected_records table)",
    ]
    if summary.get("spans_skipped") or summary.get("scores_skipped"):
        lines.append(f"trace exports: {summary['spans_skipped']} spans skipped (not model calls), "
                     f"{summary['scores_skipped']} scores skipped ([trace_scores] skip)")
    lines += [f"unreadable: {f['path']}: {f['reason']}" for f in summary["failures"]]
    return "\n".join(lines)


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked recursively).")],
    as_json: JsonOption = False,
    file_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto (default): requests*/feedback* files by name, OpenTelemetry OTLP/JSON and "
            "Langfuse trace exports by content; native, otel or langfuse: read every file as that.",
        ),
    ] = "auto",
) -> None:
    """Ingest request and feedback logs (JSONL, JSONL.gz, Parquet) and trace exports
    (OpenTelemetry OTLP/JSON, Langfuse) into the store."""
    from flywheel.tasks.ingest import discover, ingest_paths
    from flywheel.tasks.progress import progress_bar

    discover(paths, file_format)  # bad paths or format are a usage error before any work starts
    settings = settings_of(ctx)

    def in_process() -> dict[str, Any]:
        with progress_bar("ingest", unit="files", enabled=not as_json) as progress:
            return ingest_paths(settings, list(paths), file_format, progress=progress).to_dict()

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.ingest import ingest_flow

        return ingest_flow(paths=[str(p) for p in paths], db_path=str(settings.db_path),
                           project_dir=str(settings.project_dir), format=file_format)

    summary = run_work(ctx, in_process, as_flow_run)
    emit(summary, as_json, _human)
    if summary["files_failed"]:
        raise typer.Exit(1)
