"""Loading one log file into the ``stage`` temp table, with a reason on every bad record.

Two paths give the same result: the fast one hands the whole file to DuckDB's JSON reader with
an explicit schema; when that reader fails (a line that is not JSON, a value of the wrong type)
or a record is invalid, the file is read again line by line so that each bad line is
quarantined with its number and raw text.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zlib
from pathlib import Path

import duckdb

from tasks.db import run
from tasks.ingest.files import LogFile


class UnreadableFileError(Exception):
    """The file cannot be read at all (truncated gzip, corrupt Parquet, I/O error)."""


def stage_file(con: duckdb.DuckDBPyConnection, log: LogFile) -> str:
    """Fill the ``stage`` temp table from ``log``; returns the path taken ("fast" or "lines")."""
    if log.format == "jsonl":
        try:
            run(con, f"ingest/stage_{log.kind}_json", {"path": str(log.path)})
            if run(con, "ingest/stage_counts").fetchone()[1] == 0:
                return "fast"
        except duckdb.Error:
            pass  # a malformed line or a wrong type: the line-by-line path says which
    _stage_lines(con, log)
    return "lines"


def _stage_lines(con: duckdb.DuckDBPyConnection, log: LogFile) -> None:
    if log.format == "parquet":
        try:
            run(con, "ingest/lines_from_parquet", {"path": str(log.path)})
        except duckdb.Error as exc:
            raise UnreadableFileError(f"not a readable Parquet file: {_first_line(exc)}") from None
        run(con, f"ingest/stage_{log.kind}_lines")
        return
    with tempfile.TemporaryDirectory(prefix="flywheel-ingest-") as tmp:
        text_path = _decompressed(log, Path(tmp)) if log.compressed else log.path
        bad_lines: list[tuple[int, str, str]] = []
        try:
            run(con, "ingest/lines_from_text", {"path": str(text_path)})
        except duckdb.InvalidInputException:
            # Bytes that are not UTF-8: blank those lines out (keeping the numbering) and
            # quarantine them; everything else goes through SQL as usual.
            clean = Path(tmp) / "utf8.jsonl"
            bad_lines = _blank_non_utf8_lines(text_path, clean)
            run(con, "ingest/lines_from_text", {"path": str(clean)})
        except duckdb.Error as exc:
            raise UnreadableFileError(f"cannot read: {_first_line(exc)}") from None
    run(con, f"ingest/stage_{log.kind}_lines")
    for line_no, raw, reason in bad_lines:
        run(con, "ingest/stage_add_rejected", {"line_no": line_no, "raw": raw, "reason": reason})


def _decompressed(log: LogFile, tmp: Path) -> Path:
    target = tmp / "decompressed.jsonl"
    try:
        with gzip.open(log.path, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFileError(f"not a readable gzip file: {exc}") from None
    return target


def _blank_non_utf8_lines(source: Path, target: Path) -> list[tuple[int, str, str]]:
    bad: list[tuple[int, str, str]] = []
    with source.open("rb") as src, target.open("wb") as dst:
        for line_no, line in enumerate(src, start=1):
            try:
                line.decode("utf-8")
                dst.write(line)
            except UnicodeDecodeError as exc:
                raw = line.rstrip(b"\r\n").decode("utf-8", errors="replace")
                bad.append((line_no, raw, f"not valid UTF-8 (byte {exc.start + 1})"))
                dst.write(b"\n")
    return bad


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
