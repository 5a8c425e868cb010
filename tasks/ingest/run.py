"""Ingesting a set of files: skip what the ledger has seen, load each file in one transaction."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from tasks.config import Settings
from tasks.db import connect, run, transaction
from tasks.ingest.files import LogFile, discover, sha256_of
from tasks.ingest.stage import UnreadableFileError, stage_file

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    """What one ingest run did. The first eight fields are the §1 contract of ``--json``."""

    files_seen: int = 0
    files_ingested: int = 0
    files_skipped: int = 0
    requests_inserted: int = 0
    requests_duplicate: int = 0
    feedback_inserted: int = 0
    feedback_duplicate: int = 0
    rejected: int = 0
    files_failed: int = 0
    feedback_orphaned: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready data."""
        return asdict(self)


def ingest_paths(settings: Settings, paths: list[str | Path]) -> IngestSummary:
    """Ingest every log file under ``paths`` into the store at ``settings.db_path``."""
    files, unreadable = discover([Path(p) for p in paths])
    summary = IngestSummary(files_seen=len(files) + len(unreadable))
    now = datetime.now(UTC)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        run(con, "ingest/macros")
        _load_prices(con, settings)
        for bad in unreadable:
            _record_failure(con, summary, bad.path, bad.reason, now)
        for log_file in files:
            _ingest_one(con, settings, log_file, summary, now)
        summary.feedback_orphaned = int(run(con, "ingest/orphan_feedback_count").fetchone()[0])
    return summary


def _load_prices(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    run(con, "ingest/prices_create")
    for model, (input_per_m, output_per_m) in settings.prices.items():
        run(
            con,
            "ingest/prices_insert",
            {"model": model, "input_per_m": input_per_m, "output_per_m": output_per_m},
        )


def _ingest_one(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    log_file: LogFile,
    summary: IngestSummary,
    now: datetime,
) -> None:
    path = str(log_file.path)
    try:
        sha256 = sha256_of(log_file.path)
        size = log_file.path.stat().st_size
    except OSError as exc:
        _record_failure(con, summary, log_file.path, f"cannot read: {exc.strerror or exc}", now)
        return
    if run(con, "ingest/ledger_find", {"sha256": sha256}).fetchone() is not None:
        summary.files_skipped += 1
        return
    try:
        taken = stage_file(con, log_file)
    except UnreadableFileError as exc:
        _record_failure(con, summary, log_file.path, str(exc), now)
        return
    rows_read, rejected = run(con, "ingest/stage_counts").fetchone()
    with transaction(con):
        inserted = int(run(con, f"ingest/insert_{log_file.kind}", {"file": path, "now": now}).fetchone()[0])
        run(
            con,
            "ingest/insert_rejected",
            {"file": path, "sha256": sha256, "kind": log_file.kind, "now": now,
             "max_chars": settings.reject_raw_max_chars},
        )
        duplicates = rows_read - rejected - inserted
        run(
            con,
            "ingest/ledger_insert",
            {"sha256": sha256, "path": path, "size_bytes": size, "kind": log_file.kind,
             "format": log_file.format, "rows_read": rows_read, "inserted": inserted,
             "duplicates": duplicates, "rejected": rejected, "now": now},
        )
        run(con, "ingest/failure_clear", {"path": path})
    summary.files_ingested += 1
    summary.rejected += rejected
    if log_file.kind == "requests":
        summary.requests_inserted += inserted
        summary.requests_duplicate += duplicates
    else:
        summary.feedback_inserted += inserted
        summary.feedback_duplicate += duplicates
    summary.files.append(
        {"path": path, "kind": log_file.kind, "path_taken": taken, "rows": rows_read,
         "inserted": inserted, "duplicates": duplicates, "rejected": rejected}
    )
    log.info("ingested %s: %d new, %d duplicate, %d rejected", path, inserted, duplicates, rejected)


def _record_failure(
    con: duckdb.DuckDBPyConnection, summary: IngestSummary, path: Path, reason: str, now: datetime
) -> None:
    with transaction(con):
        run(con, "ingest/failure_record", {"path": str(path), "reason": reason, "now": now})
    summary.files_failed += 1
    summary.failures.append({"path": str(path), "reason": reason})
    log.warning("could not ingest %s: %s", path, reason)
