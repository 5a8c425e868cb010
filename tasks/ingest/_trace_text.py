"""Reading a trace export's bytes and lines (gzip-aware; lines that are not UTF-8 quarantined)."""

from __future__ import annotations

import gzip
import tempfile
import zlib
from pathlib import Path

import duckdb

from flywheel.tasks.db import run
from flywheel.tasks.ingest._stage import UnreadableFileError

BadLine = tuple[int, str, str]  # (line number, raw text, reason)


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it ends in ``.gz``."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFileError(f"cannot read: {exc}") from None


def load_trace_lines(con: duckdb.DuckDBPyConnection, path: Path) -> list[BadLine]:
    """Fill ``trace_lines`` (see trace_lines.sql) from a file; returns the lines that are not
    UTF-8, blanked out of the table and to be quarantined by the caller."""
    compressed = path.name.lower().endswith(".gz")
    with tempfile.TemporaryDirectory(prefix="flywheel-trace-") as tmp:
        text_path = path
        if compressed:
            text_path = Path(tmp) / "decompressed.json"
            text_path.write_bytes(read_bytes(path))
        try:
            run(con, "ingest/trace_lines", {"path": str(text_path)})
            return []
        except duckdb.InvalidInputException:
            clean = Path(tmp) / "utf8.json"
            bad = split_utf8_lines(text_path.read_bytes(), clean)
            run(con, "ingest/trace_lines", {"path": str(clean)})
            return bad
        except duckdb.Error as exc:
            raise UnreadableFileError(f"cannot read: {str(exc).strip().splitlines()[0]}") from None


def split_utf8_lines(data: bytes, target: Path) -> list[BadLine]:
    """Write ``data`` to ``target`` with every line that is not UTF-8 blanked (numbering kept)."""
    bad: list[BadLine] = []
    with target.open("wb") as out:
        for line_no, line in enumerate(data.split(b"\n"), start=1):
            try:
                line.decode("utf-8")
                out.write(line + b"\n")
            except UnicodeDecodeError as exc:
                raw = line.rstrip(b"\r").decode("utf-8", errors="replace")
                bad.append((line_no, raw, f"not valid UTF-8 (byte {exc.start + 1})"))
                out.write(b"\n")
    return bad
