"""Ingest of production logs and user feedback into the DuckDB store (docs/ingest.md)."""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "discover": "flywheel.tasks.ingest._files",
    "ingest_paths": "flywheel.tasks.ingest._run",
    "IngestSummary": "flywheel.tasks.ingest._summary",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
