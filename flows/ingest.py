"""The ``ingest`` flow: load log files into the store and publish the summary; and the night's
``ingest`` step (the landing folder)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flywheel.flows.night import Night, StepIncomplete, publish_table
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.ingest import ingest_paths


def ingest_files(settings: Settings, paths: list[str], format: str = "auto") -> dict[str, Any]:
    """Ingest the files under ``paths``; publish and return the run summary."""
    summary = ingest_paths(settings, list(paths), format).to_dict()
    counts = {k: v for k, v in summary.items() if isinstance(v, int)}
    publish_table(
        "ingest-summary",
        [{"measure": k, "value": v} for k, v in counts.items()]
        + [{"measure": f"unreadable: {f['path']}", "value": f["reason"]} for f in summary["failures"]],
        "What the ingest run loaded, skipped and quarantined.",
    )
    return summary


def ingest_landing(night: Night) -> dict[str, Any]:
    """The night's step: ingest the landing folder; unreadable files make the step fail (the
    rows of the readable ones are kept)."""
    settings = night.settings
    if not settings.landing.exists():
        return {"note": f"no landing folder at {settings.landing}"}
    summary = ingest_files(settings, [str(settings.landing)])
    if summary.get("files_failed"):
        unreadable = "; ".join(f"{f['path']}: {f['reason']}" for f in summary["failures"][:5])
        raise StepIncomplete(f"{summary['files_failed']} unreadable file(s): {unreadable}", summary)
    return summary


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
    return ingest_files(settings, list(paths) if paths else [str(settings.landing)], format)
