"""The named SQL statements (``sql/ingest/``) that load each record kind, declared once.

Requests and feedback go through the same steps with their own statement for each; the names
are spelled out here so that a search for a statement file finds the code that runs it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KindStatements:
    """The statements that stage, check and insert one record kind."""

    stage_json: str  # a batch of JSONL files through DuckDB's JSON reader
    stage_lines: str  # the lines of one file, one record at a time
    trace_stage: str  # the kind's records of a converted trace export
    counts: str  # rows, rejects and repeats per staged file
    dedupe: str  # drop the later copies of a record repeated in one file
    insert: str  # the new records into the store
    conflicts: str | None = None  # mark records whose id is stored with other content


STATEMENTS: dict[str, KindStatements] = {
    "requests": KindStatements(
        stage_json="ingest/stage_requests_json",
        stage_lines="ingest/stage_requests_lines",
        trace_stage="ingest/trace_stage_requests",
        counts="ingest/stage_counts_requests",
        dedupe="ingest/stage_dedupe_requests",
        insert="ingest/insert_requests",
        conflicts="ingest/stage_conflicts_requests",
    ),
    "feedback": KindStatements(
        stage_json="ingest/stage_feedback_json",
        stage_lines="ingest/stage_feedback_lines",
        trace_stage="ingest/trace_stage_feedback",
        counts="ingest/stage_counts_feedback",
        dedupe="ingest/stage_dedupe_feedback",
        insert="ingest/insert_feedback",
    ),
}
