"""What one ingest run did: filled in by the native loader and by the trace-export loader."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class IngestSummary:
    """What one ingest run did. The first eight fields are what docs/contracts.md, "Command line", promises of ``--json``."""

    files_seen: int = 0
    files_ingested: int = 0
    files_skipped: int = 0
    requests_inserted: int = 0
    requests_duplicate: int = 0
    feedback_inserted: int = 0
    feedback_duplicate: int = 0
    rejected: int = 0
    files_failed: int = 0
    feedback_orphaned: int = 0
    spans_skipped: int = 0  # trace exports: spans/observations that are not model calls
    scores_skipped: int = 0  # trace exports: scores whose [trace_scores] mode is "skip"
    failures: list[dict[str, str]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready data."""
        return asdict(self)
