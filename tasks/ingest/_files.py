"""Finding log files and telling what each one holds."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from flywheel.tasks.errors import UsageError
from flywheel.tasks.ingest._detect import FORMATS, TRACE_FORMATS, TRACE_LEDGER_FORMATS, trace_format

_LOG_NAME = re.compile(
    r"^(?P<kind>requests|feedback).*?\.(?P<format>jsonl|ndjson|json|parquet)(?P<gz>\.gz)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LogFile:
    """A file to ingest: its path, whether it holds requests or feedback, and its format."""

    path: Path
    kind: str  # "requests" | "feedback" | a trace export: "otel" | "langfuse"
    format: str  # "jsonl" | "parquet" | "otlp-json" | "langfuse-json"
    compressed: bool = False


@dataclass(frozen=True)
class Unreadable:
    """A path found while walking that cannot be ingested at all, and why."""

    path: Path
    reason: str


def classify(path: Path, choice: str = "auto") -> LogFile | None:
    """The LogFile for a path named like a log file (``requests*``/``feedback*``), else None.

    ``choice`` (the ``--format`` option) ``auto`` also recognises trace exports by content
    (tasks/ingest/_detect.py); ``otel``/``langfuse`` take every ``.json``/``.jsonl``/``.ndjson``
    file as that format; ``native`` goes by names only.
    """
    if choice in TRACE_FORMATS:
        return _trace_log(path, choice)
    match = _LOG_NAME.match(path.name)
    if not match:
        return _trace_log(path, choice) if choice == "auto" else None
    fmt = "parquet" if match["format"].lower() == "parquet" else "jsonl"
    if fmt == "parquet" and match["gz"]:
        return None
    return LogFile(path=path, kind=match["kind"].lower(), format=fmt, compressed=bool(match["gz"]))


def _trace_log(path: Path, choice: str) -> LogFile | None:
    found = trace_format(path, choice)
    if found is None:
        return None
    return LogFile(path=path, kind=found, format=TRACE_LEDGER_FORMATS[found],
                   compressed=path.name.lower().endswith(".gz"))


def discover(paths: list[Path], fmt: str = "auto") -> tuple[list[LogFile], list[Unreadable]]:
    """Every log file under the given files and folders (recursively), in a stable order.

    A path given explicitly must exist and be named like a log file or be a trace export (else
    :class:`UsageError`). A folder named like a log file is reported as unreadable rather than
    walked. ``fmt`` is the ``choice`` of :func:`classify`.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    files: list[LogFile] = []
    unreadable: list[Unreadable] = []
    for given in paths:
        if not given.exists():
            raise UsageError(f"{given}: no such file or folder")
        if given.is_file():
            found = classify(given, fmt)
            if found is None:
                raise UsageError(
                    f"{given}: cannot tell what it holds; name it requests*.jsonl[.gz|.parquet] "
                    "or feedback*.jsonl[.gz|.parquet], or give an OpenTelemetry (OTLP/JSON) or "
                    "Langfuse trace export (.json/.jsonl, or --format otel|langfuse)"
                )
            files.append(found)
            continue
        for path in sorted(given.rglob("*")):
            if any(part.startswith(".") for part in path.relative_to(given).parts):
                continue
            if any(path.is_relative_to(bad.path) for bad in unreadable):
                continue
            found = classify(path, fmt)
            if found is None:
                continue
            if path.is_dir():
                unreadable.append(Unreadable(path, "is a folder named like a log file, not a file"))
            elif path.is_file():
                files.append(found)
    unique = {f.path.resolve(): f for f in files}
    return sorted(unique.values(), key=lambda f: str(f.path)), unreadable


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
