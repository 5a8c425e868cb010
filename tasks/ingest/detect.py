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

_FIRST_KEY = re.compile(r'\[?\s*\{\s*"((?:[^"\\]|\\.)*)"\s*:')
_LANGFUSE_TRACE_KEYS = re.compile(r'"(?:observations|htmlPath)"\s*:')


def is_trace_candidate(path: Path) -> bool:
    """Whether the file's name allows a trace export: ``.json``, ``.jsonl``, ``.ndjson`` (``.gz``)."""
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(TRACE_SUFFIXES)


def sniff(head: bytes) -> str | None:
    """``"otel"`` or ``"langfuse"`` from the first bytes of a file, else None.

    The first key of the first JSON object decides: ``resourceSpans`` is an OTLP/JSON
    ExportTraceServiceRequest; ``trace`` or ``observations`` is a Langfuse export; a bare Langfuse
    trace (the API's trace object) starts with ``id`` and has ``observations`` or ``htmlPath``.
    """
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    match = _FIRST_KEY.match(text)
    if not match:
        return None
    key = match.group(1)
    if key == "resourceSpans":
        return "otel"
    if key in ("trace", "observations"):
        return "langfuse"
    if key == "id" and _LANGFUSE_TRACE_KEYS.search(text):
        return "langfuse"
    return None


def trace_format(path: Path, choice: str = "auto") -> str | None:
    """The trace format of a file: ``choice`` itself when it names one, else (``auto``) found by
    content; None for a file that is not a trace export."""
    if not is_trace_candidate(path) or not path.is_file():
        return None
    if choice in TRACE_FORMATS:
        return choice
    if choice != "auto":
        return None
    return sniff(_head(path))


def _head(path: Path) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read(HEAD_BYTES)
        with path.open("rb") as handle:
            return handle.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error):
        return b""  # unreadable: not recognised here (a file named as a log is reported instead)
