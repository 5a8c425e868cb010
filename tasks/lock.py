"""The nightly lock: one nightly run (or backfill) per database at a time, with or without a
Prefect server.

An OS advisory lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on the file
``<database>.nightly.lock`` beside the DuckDB file, held for the whole night. The kernel drops it
when the holding process ends, however it ends (SIGKILL included), so a crashed run never leaves a
stale lock behind. The file's text names the holder (process, host, what it runs, since when) for
the message the next run prints while it waits.

The lock is re-entrant inside one process: a backfill holds it across its nights and each night
takes it again without deadlocking. Advisory locks on network file systems (NFS, SMB) are not
reliable: keep the DuckDB file on a local disk (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flywheel.tasks.errors import FlywheelError


class NightlyBusyError(FlywheelError):
    """Another nightly run holds the lock of this database for longer than we may wait."""


_held: dict[Path, tuple[IO[str], int]] = {}
_guard = threading.Lock()


def lock_path(db_path: str | Path) -> Path:
    """The lock file of a database: ``<db>.nightly.lock`` beside it."""
    db = Path(db_path).resolve()
    return db.with_name(db.name + ".nightly.lock")


def _try_lock(handle: IO[str]) -> bool:
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(handle: IO[str]) -> None:
    if os.name == "nt":  # pragma: no cover
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def holder_of(db_path: str | Path) -> dict[str, Any] | None:
    """Who holds (or last held) the lock, as written in the lock file; None if unknown."""
    try:
        return json.loads(lock_path(db_path).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another process"
    return (f"process {holder.get('pid')} on {holder.get('host')} "
            f"({holder.get('purpose')}, since {holder.get('since')})")


@contextmanager
def nightly_lock(db_path: str | Path, *, timeout_s: float, purpose: str) -> Iterator[Path]:
    """Hold the database's nightly lock for the body; wait up to ``timeout_s`` seconds for it.

    Raises :class:`NightlyBusyError` naming the holder when the wait runs out.
    """
    path = lock_path(db_path)
    with _guard:
        if path in _held:
            handle, depth = _held[path]
            _held[path] = (handle, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _guard:
                handle, depth = _held[path]
                _held[path] = (handle, depth - 1)
        return

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115  (held across the yield)
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    try:
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                raise NightlyBusyError(
                    f"another nightly run is using {Path(db_path).resolve()}: "
                    f"{_describe(holder_of(db_path))} holds {path}; waited {timeout_s:g}s. "
                    "Let it finish, or raise FLYWHEEL_NIGHTLY_LOCK_TIMEOUT."
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }))
        handle.flush()
        with _guard:
            _held[path] = (handle, 1)
        try:
            yield path
        finally:
            with _guard:
                del _held[path]
            _unlock(handle)
    finally:
        handle.close()
