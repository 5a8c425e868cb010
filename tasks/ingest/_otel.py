"""OpenTelemetry OTLP/JSON trace exports → trace_records, in DuckDB SQL.

The file an OpenTelemetry Collector's ``file`` exporter writes (one ExportTraceServiceRequest per
line, or one per file) is read by ``sql/ingest/trace_lines.sql`` and converted a slice of lines at
a time (``otel_documents`` → ``otel_spans`` → ``otel_requests`` → ``otel_slice_records``), then
its feedback events (``otel_feedback``); the mapping is in docs/trace-ingest.md.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import duckdb
from duckdb.sqltypes import VARCHAR

from flywheel.tasks.db import run
from flywheel.tasks.ingest._chat_messages import compact_json
from flywheel.tasks.ingest._files import LogFile
from flywheel.tasks.ingest._trace_text import load_trace_lines

# Lines are converted in slices of about this many bytes: DuckDB's JSON functions take several
# times the size of the text they parse, and one line can hold thousands of spans.
SLICE_BYTES = 4 * 1024 * 1024
SLICE_STEPS = ("ingest/otel_documents", "ingest/otel_spans", "ingest/otel_requests", "ingest/otel_slice_records")


def stage_records(con: duckdb.DuckDBPyConnection, log: LogFile) -> None:
    """Fill the ``trace_records`` temp table from one OTLP/JSON file (the macros of
    otel_macros.sql and :func:`register_functions` must be in place).

    Raises :class:`flywheel.tasks.ingest._stage.UnreadableFileError` when the file cannot be read at all.
    """
    run(con, "ingest/otel_setup")
    bad_lines = load_trace_lines(con, log.path)
    slices = run(con, "ingest/trace_line_slices", {"max_bytes": SLICE_BYTES}).fetchall()
    for first_line, last_line in slices:
        for step in SLICE_STEPS:
            params = {"first_line": first_line, "last_line": last_line} if step == "ingest/otel_documents" else None
            run(con, step, params)
    run(con, "ingest/otel_feedback")
    for line_no, raw, reason in bad_lines:
        run(con, "ingest/trace_add_rejected", {"line_no": line_no, "raw": raw, "reason": reason})


def anyvalue_json(text: str | None) -> str | None:
    """An OTLP/JSON AnyValue (``{"kvlistValue": ...}`` and the like) as plain JSON text."""
    if text is None:
        return None
    try:
        return compact_json(_plain(json.loads(text)))
    except (ValueError, TypeError, AttributeError):
        return None


def _plain(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "bytesValue" in value:
        return value["bytesValue"]
    if "arrayValue" in value:
        return [_plain(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return {kv.get("key"): _plain(kv.get("value")) for kv in (value["kvlistValue"] or {}).get("values", [])}
    return None


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register ``fw_otlp_value_json``: structured attribute values, nested to any depth, are
    unwrapped in Python (see otel_macros.sql for why); only those values are passed to it."""
    with contextlib.suppress(duckdb.NotImplementedException):  # already registered on this connection
        con.create_function("fw_otlp_value_json", anyvalue_json, [VARCHAR], VARCHAR, side_effects=False)
