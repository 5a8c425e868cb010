"""Ingesting one trace export (OpenTelemetry OTLP/JSON or Langfuse) with native guarantees.

A trace file holds requests *and* feedback. Its converter (otel.py: SQL; langfuse.py: Python)
fills ``trace_records`` with native records; then, in one transaction, the requests and the
feedback are each staged into ``stage`` and checked by the native rules, and inserted, and their
rejects quarantined, by the native SQL; one ledger row (kind ``otel`` or ``langfuse``) records
the file. A process killed mid-file leaves nothing of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from flywheel.tasks.config import Settings
from flywheel.tasks.db import run, transaction
from flywheel.tasks.ingest import _langfuse as langfuse
from flywheel.tasks.ingest import _otel as otel
from flywheel.tasks.ingest._detect import TRACE_FORMATS, TRACE_LEDGER_FORMATS
from flywheel.tasks.ingest._files import LogFile
from flywheel.tasks.ingest._stage import UnreadableFileError, insert_new
from flywheel.tasks.ingest._statements import STATEMENTS
from flywheel.tasks.ingest._summary import IngestSummary

TRACE_KINDS = frozenset(TRACE_FORMATS)
RECORD_KINDS = ("requests", "feedback")


@dataclass
class KindCounts:
    """One record kind (requests or feedback) of one trace file."""

    rows: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0


@dataclass
class TraceResult:
    """What ingesting one trace file did."""

    path: str
    kind: str
    counts: dict[str, KindCounts] = field(default_factory=dict)
    spans_skipped: int = 0
    scores_skipped: int = 0

    def add_to(self, summary: IngestSummary) -> None:
        """Add this file to a run's summary (requests and feedback counted apart)."""
        requests, feedback = self.counts["requests"], self.counts["feedback"]
        summary.files_ingested += 1
        summary.requests_inserted += requests.inserted
        summary.requests_duplicate += requests.duplicates
        summary.feedback_inserted += feedback.inserted
        summary.feedback_duplicate += feedback.duplicates
        summary.rejected += requests.rejected + feedback.rejected
        summary.spans_skipped += self.spans_skipped
        summary.scores_skipped += self.scores_skipped
        summary.files.append(self.as_file_entry())

    def as_file_entry(self) -> dict[str, Any]:
        """The per-file entry of the summary."""
        total = KindCounts(*(sum(getattr(c, f) for c in self.counts.values())
                             for f in ("rows", "inserted", "duplicates", "rejected")))
        return {
            "path": self.path, "kind": self.kind, "path_taken": "trace", "rows": total.rows,
            "inserted": total.inserted, "duplicates": total.duplicates, "rejected": total.rejected,
            **{kind: vars(counts) for kind, counts in self.counts.items()},
            "spans_skipped": self.spans_skipped, "scores_skipped": self.scores_skipped,
        }


def define_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the trace macros (and the OTLP value function) once per connection."""
    otel.register_functions(con)
    try:
        run(con, "ingest/trace_macros_defined")
    except duckdb.CatalogException:
        run(con, "ingest/otel_macros")
        run(con, "ingest/trace_macros")


def score_mode_params(settings: Settings) -> dict[str, list[str]]:
    """The [trace_scores] modes as the two parallel lists the SQL takes."""
    names = sorted(settings.trace_scores)
    return {"score_names": names, "score_modes": [settings.trace_scores[n] for n in names]}


def ingest_trace_file(
    con: duckdb.DuckDBPyConnection, settings: Settings, log: LogFile, sha256: str, size: int,
    now: datetime,
) -> TraceResult:
    """Convert, check and load one trace file in one transaction, with its ledger row.

    Raises :class:`flywheel.tasks.ingest._stage.UnreadableFileError` when the file cannot be read at all.
    """
    path = str(log.path)
    define_macros(con)
    try:
        (otel if log.kind == "otel" else langfuse).stage_records(con, log)
    except duckdb.Error as exc:  # content the converter cannot take apart: the file is retried
        raise UnreadableFileError(f"cannot convert this {log.kind} export: {_first_line(exc)}") from None
    modes = score_mode_params(settings)
    requests, feedback, spans_skipped, scores_skipped = run(con, "ingest/trace_counts", modes).fetchone()
    present = {"requests": int(requests), "feedback": int(feedback)}
    result = TraceResult(path, log.kind, spans_skipped=int(spans_skipped), scores_skipped=int(scores_skipped))
    with transaction(con):
        for kind in RECORD_KINDS:
            result.counts[kind] = (_load_kind(con, settings, kind, path, sha256, modes, now)
                                   if present[kind] else KindCounts())
        rows = sum(c.rows for c in result.counts.values())
        inserted = sum(c.inserted for c in result.counts.values())
        rejected = sum(c.rejected for c in result.counts.values())
        run(con, "ingest/ledger_insert",
            {"sha256": sha256, "path": path, "size_bytes": size, "kind": log.kind,
             "format": TRACE_LEDGER_FORMATS[log.kind], "rows_read": rows, "inserted": inserted,
             "duplicates": rows - rejected - inserted, "rejected": rejected, "now": now})
        run(con, "ingest/failure_clear", {"path": path})
    return result


def _load_kind(
    con: duckdb.DuckDBPyConnection, settings: Settings, kind: str, path: str, sha256: str,
    modes: dict[str, list[str]], now: datetime,
) -> KindCounts:
    """Stage one kind of the file's records, insert the new ones, quarantine the bad ones."""
    params: dict[str, Any] = {"file": path, **(modes if kind == "feedback" else {})}
    statements = STATEMENTS[kind]
    run(con, statements.trace_stage, params)
    staged = {p: (int(n), int(bad), int(rep)) for p, n, bad, rep in run(con, statements.counts).fetchall()}
    rows, rejected, repeated = staged.get(path, (0, 0, 0))
    if repeated:
        run(con, statements.dedupe)
    inserted = insert_new(con, kind, path, now)
    run(con, "ingest/insert_rejected",
        {"file": path, "sha256": sha256, "kind": kind, "now": now,
         "max_chars": settings.reject_raw_max_chars})
    return KindCounts(rows=rows, inserted=inserted, duplicates=rows - rejected - inserted, rejected=rejected)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
