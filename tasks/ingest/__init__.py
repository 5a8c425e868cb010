"""Ingest of production logs and user feedback into the DuckDB store."""

from flywheel.tasks.ingest.run import IngestSummary, ingest_paths

__all__ = ["IngestSummary", "ingest_paths"]
