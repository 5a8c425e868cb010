"""The ``ingest`` flow: load log files into the store and publish the summary."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths


@task(name="ingest-files")
def ingest_files(
    paths: list[str], db_path: str, project_dir: str | None, format: str = "auto"
) -> dict[str, Any]:
    """Ingest the files under ``paths``; returns the run summary."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    return ingest_paths(settings, list(paths), format).to_dict()


@flow(name="ingest")
def ingest_flow(
    paths: list[str] | None = None, db_path: str | None = None, project_dir: str | None = None,
    format: str = "auto",
) -> dict[str, Any]:
    """Ingest request and feedback files (or folders) into the DuckDB store (default: the
    project's landing folder).

    ``format``: ``auto`` (native files by name, OpenTelemetry/Langfuse trace exports by
    content), or ``native``, ``otel``, ``langfuse`` to read every file as that.
    """
    settings = load_settings(db=db_path, project_dir=project_dir)
    paths = list(paths) if paths else [str(settings.landing)]
    summary = ingest_files(paths, str(settings.db_path), str(settings.project_dir), format)
    counts = {k: v for k, v in summary.items() if isinstance(v, int)}
    create_table_artifact(
        key="ingest-summary",
        table=[{"measure": k, "value": v} for k, v in counts.items()]
        + [{"measure": f"unreadable: {f['path']}", "value": f["reason"]} for f in summary["failures"]],
        description="What the ingest run loaded, skipped and quarantined.",
    )
    return summary
