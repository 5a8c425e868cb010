"""Loading log files into the ``stage`` temp table, with a reason on every bad record.

Two paths give the same result. The fast one hands a whole batch of JSONL files to DuckDB's JSON
reader with an explicit schema (one parallel pass, like the raw reader). A file that makes that
reader fail (a line that is not JSON, a value of the wrong type) or that holds an invalid record
is staged again on its own, line by line, so that each bad line is quarantined with its number
and raw text while the other lines load.

A staged record whose id is already stored is a duplicate (same content) or a conflict (other
content). The stored record is looked for among those whose timestamp lies within
:data:`ID_LOOKUP_MARGIN` of the staged records' time span, not in the whole history: the store
is in time order, so that reads a few nights whatever its size (docs/scaling.md, section 0).
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from flywheel.tasks.db import run
from flywheel.tasks.ingest._files import LogFile
from flywheel.tasks.ingest._statements import STATEMENTS

# A re-delivered record carries its first timestamp; a conflicting one (same id, other content)
# is recognised when its timestamp is within this much of the stored one's.
ID_LOOKUP_MARGIN = timedelta(days=1)


class UnreadableFileError(Exception):
    """The file cannot be read at all (truncated gzip, corrupt Parquet, I/O error)."""


@dataclass(frozen=True)
class StagedCounts:
    """What the stage holds for one file."""

    rows_read: int = 0
    rejected: int = 0
    repeated: int = 0  # valid records whose id appeared earlier in the same file


def stage_batch(con: duckdb.DuckDBPyConnection, kind: str, paths: list[str]) -> dict[str, StagedCounts] | None:
    """Stage JSONL files of one kind in one pass; None when the reader fails on any of them.

    A file missing from the result has no records (an empty file).
    """
    try:
        run(con, STATEMENTS[kind].stage_json, {"paths": paths})
    except duckdb.Error:
        return None
    return _counts(con, kind)


def stage_single(con: duckdb.DuckDBPyConnection, log: LogFile, *, try_fast: bool = True) -> StagedCounts:
    """Stage one file: the fast reader if it succeeds cleanly, else line by line."""
    path = str(log.path)
    if try_fast and log.format == "jsonl":
        counts = stage_batch(con, log.kind, [path])
        if counts is not None and counts.get(path, StagedCounts()).rejected == 0:
            return counts.get(path, StagedCounts())
    _stage_lines(con, log)
    return _counts(con, log.kind).get(path, StagedCounts())


def id_lookup_span(con: duckdb.DuckDBPyConnection, file: str | None = None
                   ) -> dict[str, datetime | None]:
    """``lo`` and ``hi``: where stored records with the ids of ``file``'s staged records (None:
    of every staged file) are looked for."""
    lo, hi = run(con, "ingest/stage_span", {"file": file, "margin": ID_LOOKUP_MARGIN}).fetchone()
    return {"lo": lo, "hi": hi}


def insert_new(con: duckdb.DuckDBPyConnection, kind: str, file: str, now: datetime) -> int:
    """Insert the valid staged records of ``file`` whose id is not stored yet; how many."""
    params = {"file": file, "now": now, **id_lookup_span(con, file)}
    return int(run(con, STATEMENTS[kind].insert, params).fetchone()[0])


def remove_repeats(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Delete the later copies of a record repeated inside one file (the first wins)."""
    run(con, STATEMENTS[kind].dedupe)


def _counts(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, StagedCounts]:
    conflicts = STATEMENTS[kind].conflicts
    if conflicts is not None:  # a conflict is a reject: the caller takes the line path for it
        run(con, conflicts, id_lookup_span(con))
    rows = run(con, STATEMENTS[kind].counts).fetchall()
    return {path: StagedCounts(int(n), int(bad), int(rep)) for path, n, bad, rep in rows}


def _stage_lines(con: duckdb.DuckDBPyConnection, log: LogFile) -> None:
    file_param = {"file": str(log.path)}
    if log.format == "parquet":
        try:
            run(con, "ingest/lines_from_parquet", {"path": str(log.path)})
        except duckdb.Error as exc:
            raise UnreadableFileError(f"not a readable Parquet file: {_first_line(exc)}") from None
        run(con, STATEMENTS[log.kind].stage_lines, file_param)
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
    run(con, STATEMENTS[log.kind].stage_lines, file_param)
    for line_no, raw, reason in bad_lines:
        run(con, "ingest/stage_add_rejected", {**file_param, "line_no": line_no, "raw": raw, "reason": reason})


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
