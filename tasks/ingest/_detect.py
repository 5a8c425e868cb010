"""Telling a trace export (OpenTelemetry OTLP/JSON, Langfuse) from other JSON by its content."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

TRACE_FORMATS = ("otel", "langfuse")
TRACE_LEDGER_FORMATS = {"otel": "otlp-json", "langfuse": "langfuse-json"}  # ingest_ledger.format
FORMATS = ("auto", "native", *TRACE_FORMATS)
TRACE_SUFFIXES = (".json", ".jsonl", ".ndjson")
HEAD_BYTES = 64 * 1024
WHOLE_FILE_BYTES = 64 * 1024 * 1024  # a bare trace object is searched whole up to this size

_FIRST_KEY = re.compile(r'\[?\s*\{\s*"((?:[^"\\]|\\.)*)"\s*:')
_LANGFUSE_TRACE_KEYS = re.compile(rb'"(?:observations|htmlPath)"\s*:')
# keys a Langfuse trace object (GET /api/public/traces/{id}) may start with
_TRACE_OBJECT_KEYS = frozenset({"id", "htmlPath", "latency", "totalCost", "timestamp", "projectId", "scores"})


def is_trace_candidate(path: Path) -> bool:
    """Whether the file's name allows a trace export: ``.json``, ``.jsonl``, ``.ndjson`` (``.gz``)."""
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(TRACE_SUFFIXES)


def sniff(head: bytes) -> str | None:
    """``"otel"`` or ``"langfuse"`` from the first bytes of a file, else None.

    The first key of the first JSON object decides: ``resourceSpans`` is an OTLP/JSON
    ExportTraceServiceRequest; ``trace`` or ``observations`` is a Langfuse export; a bare Langfuse
    trace (the API's trace object) starts with one of its own keys and has ``observations`` or
    ``htmlPath``.
    """
    key = first_key(head)
    if key == "resourceSpans":
        return "otel"
    if key in ("trace", "observations"):
        return "langfuse"
    if key in _TRACE_OBJECT_KEYS and _LANGFUSE_TRACE_KEYS.search(head):
        return "langfuse"
    return None


def first_key(head: bytes) -> str | None:
    """The first key of the first JSON object in ``head``, or None."""
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    match = _FIRST_KEY.match(text)
    return match.group(1) if match else None


def trace_format(path: Path, choice: str = "auto") -> str | None:
    """The trace format of a file: ``choice`` itself when it names one, else (``auto``) found by
    content; None for a file that is not a trace export."""
    if not is_trace_candidate(path) or not path.is_file():
        return None
    if choice in TRACE_FORMATS:
        return choice
    if choice != "auto":
        return None
    head = _head(path, HEAD_BYTES)
    found = sniff(head)
    if found is None and first_key(head) in _TRACE_OBJECT_KEYS and len(head) == HEAD_BYTES:
        # a bare trace object whose input fills the first bytes: look through the whole file
        whole = _head(path, WHOLE_FILE_BYTES)
        found = "langfuse" if _LANGFUSE_TRACE_KEYS.search(whole) else None
    return found


def _head(path: Path, size: int) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read(size)
        with path.open("rb") as handle:
            return handle.read(size)
    except (OSError, EOFError, zlib.error):
        return b""  # unreadable: not recognised here (a file named as a log is reported instead)
