"""Ingesting a set of files: skip what the ledger has seen, load each file in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from flywheel.tasks.config import FEEDBACK_EARLY_LIMIT, Settings
from flywheel.tasks.db import connect, run, transaction
from flywheel.tasks.ingest._files import LogFile, discover, sha256_of
from flywheel.tasks.ingest._stage import (
    StagedCounts,
    UnreadableFileError,
    insert_new,
    remove_repeats,
    stage_batch,
    stage_single,
)
from flywheel.tasks.ingest._summary import IngestSummary
from flywheel.tasks.ingest._traces import TRACE_KINDS, ingest_trace_file
from flywheel.tasks.progress import Progress

log = logging.getLogger(__name__)

# How far before a feedback record its request is looked for first (docs/scaling.md, section 0).
ORPHAN_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class _Pending:
    log: LogFile
    sha256: str
    size: int
    mtime_ns: int


def ingest_paths(settings: Settings, paths: list[str | Path], fmt: str = "auto",
                 progress: Progress | None = None) -> IngestSummary:
    """Ingest every log file under ``paths`` into the store at ``settings.db_path``.

    ``fmt``: ``auto`` (names, and trace exports by content), ``native``, ``otel``, ``langfuse``.
    ``progress`` hears of each batch of new files as it is stored.
    """
    progress = progress or Progress()
    files, unreadable = discover([Path(p) for p in paths], fmt)
    summary = IngestSummary(files_seen=len(files) + len(unreadable))
    now = datetime.now(UTC)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        run(con, "ingest/macros")
        _load_prices(con, settings)
        for bad in unreadable:
            _record_failure(con, summary, bad.path, bad.reason, now)
        pending = _new_files(con, files, summary, now)
        progress.set_total(len(pending))
        for batch in _batches(pending, settings.ingest_batch_bytes):
            _ingest_batch(con, settings, batch, summary, now)
            progress.advance(len(batch))
        if pending:
            with transaction(con):
                run(con, "ingest/orphans_resolve", {"now": now})
                _add_orphans(con, now)
        summary.feedback_orphaned = int(run(con, "ingest/orphan_feedback_count").fetchone()[0])
    return summary


def _add_orphans(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Keep the feedback this ingest inserted whose request is not stored. Its requests are
    looked for near the feedback first (:data:`ORPHAN_LOOKBACK`); only the few not found there
    are looked for in the whole store."""
    span = run(con, "ingest/feedback_span",
               {"now": now, "before": ORPHAN_LOOKBACK, "after": FEEDBACK_EARLY_LIMIT}).fetchone()
    # CREATE TABLE AS answers with the rows it created
    if run(con, "ingest/orphans_candidates", {"now": now, "lo": span[0], "hi": span[1]}).fetchone()[0]:
        run(con, "ingest/orphans_add")


def _load_prices(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    run(con, "ingest/prices_create")
    for model, (input_per_m, output_per_m) in settings.prices.items():
        run(
            con,
            "ingest/prices_insert",
            {"model": model, "input_per_m": input_per_m, "output_per_m": output_per_m},
        )


def _new_files(
    con: duckdb.DuckDBPyConnection, files: list[LogFile], summary: IngestSummary, now: datetime
) -> list[_Pending]:
    """The files whose content the ledger has not seen (a content seen twice in one run, once).

    A file seen before at the same path with the same size and modification time is skipped
    without being read; only new or changed files are hashed (a changed file with content the
    ledger holds is still skipped, by its hash)."""
    known = {path: (size, mtime) for path, size, mtime in run(con, "ingest/files_seen").fetchall()}
    pending: list[_Pending] = []
    seen: set[str] = set()
    for log_file in files:
        try:
            stat = log_file.path.stat()
            if known.get(_seen_path(log_file.path)) == (stat.st_size, stat.st_mtime_ns):
                summary.files_skipped += 1
                continue
            sha256 = sha256_of(log_file.path)
        except OSError as exc:
            _record_failure(con, summary, log_file.path, f"cannot read: {exc.strerror or exc}", now)
            continue
        item = _Pending(log_file, sha256, stat.st_size, stat.st_mtime_ns)
        if sha256 in seen or run(con, "ingest/ledger_find", {"sha256": sha256}).fetchone():
            summary.files_skipped += 1
            if sha256 not in seen:
                _remember(con, item)
            continue
        seen.add(sha256)
        pending.append(item)
    return pending


def _seen_path(path: Path) -> str:
    return str(path.resolve())


def _remember(con: duckdb.DuckDBPyConnection, item: _Pending) -> None:
    """Record the file's path, size and modification time: its content is in the ledger."""
    run(con, "ingest/file_seen_upsert",
        {"path": _seen_path(item.log.path), "size_bytes": item.size, "mtime_ns": item.mtime_ns,
         "sha256": item.sha256})


def _batches(pending: list[_Pending], max_bytes: int) -> list[list[_Pending]]:
    """JSONL files of one kind grouped up to ``max_bytes``; every other file on its own."""
    batches: list[list[_Pending]] = []
    open_batch: dict[str, list[_Pending]] = {}
    for item in pending:
        if item.log.format != "jsonl":
            batches.append([item])
            continue
        batch = open_batch.get(item.log.kind)
        if batch is None or sum(p.size for p in batch) + item.size > max_bytes:
            batch = []
            batches.append(batch)
            open_batch[item.log.kind] = batch
        batch.append(item)
    return batches


def _ingest_batch(
    con: duckdb.DuckDBPyConnection, settings: Settings, batch: list[_Pending],
    summary: IngestSummary, now: datetime,
) -> None:
    kind = batch[0].log.kind
    if kind in TRACE_KINDS:  # trace exports: one file at a time (tasks/ingest/_traces.py)
        for item in batch:
            try:
                ingest_trace_file(con, settings, item.log, item.sha256, item.size, now).add_to(summary)
            except UnreadableFileError as exc:
                _record_failure(con, summary, item.log.path, str(exc), now)
        return
    staged = None
    if batch[0].log.format == "jsonl":
        staged = stage_batch(con, kind, [str(p.log.path) for p in batch])
    redo: list[_Pending] = []
    clean: list[tuple[_Pending, StagedCounts]] = []
    if staged is not None:
        if any(c.repeated for c in staged.values()):
            remove_repeats(con, kind)
        for item in batch:
            counts = staged.get(str(item.log.path), StagedCounts())
            if counts.rejected:
                redo.append(item)  # line numbers for its bad records: stage it on its own
            else:
                clean.append((item, counts))
    else:
        redo = batch
    # The clean files of a batch share one transaction: each file is still all-or-nothing, and
    # one large commit lets DuckDB write whole row groups straight to the file.
    with transaction(con):
        for item, counts in clean:
            _write_file(con, settings, item, counts, "fast", summary, now)
    for item in redo:
        try:
            counts = stage_single(con, item.log, try_fast=staged is None and len(batch) > 1)
        except UnreadableFileError as exc:
            _record_failure(con, summary, item.log.path, str(exc), now)
            continue
        if counts.repeated:
            remove_repeats(con, kind)
        with transaction(con):
            _write_file(con, settings, item, counts, "lines" if counts.rejected else "fast", summary, now)


def _write_file(
    con: duckdb.DuckDBPyConnection, settings: Settings, item: _Pending, counts: StagedCounts,
    taken: str, summary: IngestSummary, now: datetime,
) -> None:
    """Insert one staged file's new records, its rejects and its ledger row (caller's transaction)."""
    path, kind = str(item.log.path), item.log.kind
    inserted = insert_new(con, kind, path, now)
    run(
        con,
        "ingest/insert_rejected",
        {"file": path, "sha256": item.sha256, "kind": kind, "now": now,
         "max_chars": settings.reject_raw_max_chars},
    )
    duplicates = counts.rows_read - counts.rejected - inserted
    run(
        con,
        "ingest/ledger_insert",
        {"sha256": item.sha256, "path": path, "size_bytes": item.size, "kind": kind,
         "format": item.log.format, "rows_read": counts.rows_read, "inserted": inserted,
         "duplicates": duplicates, "rejected": counts.rejected, "now": now},
    )
    run(con, "ingest/failure_clear", {"path": path})
    _remember(con, item)
    summary.files_ingested += 1
    summary.rejected += counts.rejected
    if kind == "requests":
        summary.requests_inserted += inserted
        summary.requests_duplicate += duplicates
    else:
        summary.feedback_inserted += inserted
        summary.feedback_duplicate += duplicates
    summary.files.append(
        {"path": path, "kind": kind, "path_taken": taken, "rows": counts.rows_read,
         "inserted": inserted, "duplicates": duplicates, "rejected": counts.rejected}
    )
    log.info("ingested %s: %d new, %d duplicate, %d rejected", path, inserted, duplicates,
             counts.rejected)


def _record_failure(
    con: duckdb.DuckDBPyConnection, summary: IngestSummary, path: Path, reason: str, now: datetime
) -> None:
    with transaction(con):
        run(con, "ingest/failure_record", {"path": str(path), "reason": reason, "now": now})
    summary.files_failed += 1
    summary.failures.append({"path": str(path), "reason": reason})
    log.warning("could not ingest %s: %s", path, reason)
