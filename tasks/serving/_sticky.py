"""Sticky assignment for bandit experiments (docs/serving.md, "Bandit experiments"): a user keeps
the arm they were first assigned while the weights change night by night. Standard library only.

A store maps (experiment, user) to the arm. :class:`MemoryStickyStore` lives as long as the
process (the router's default); :class:`SqliteStickyStore` keeps the assignments in a SQLite file
that every process of a host can share, across restarts. Applications spread over several hosts
pass their own store (anything with ``get``/``put``: a Redis hash, a database table).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Protocol


class StickyStore(Protocol):
    """Where a bandit's first assignment of each user is kept."""

    def get(self, experiment: str, user_id: str) -> str | None:
        """The arm ``user_id`` was first assigned in ``experiment``, if any."""

    def put(self, experiment: str, user_id: str, variant: str) -> str:
        """Record ``variant`` unless an arm is already recorded; returns the recorded arm."""


class MemoryStickyStore:
    """Assignments in a dictionary (one process, lost at exit). Thread-safe."""

    def __init__(self) -> None:
        self._arms: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, experiment: str, user_id: str) -> str | None:
        """The recorded arm, if any."""
        return self._arms.get((experiment, user_id))

    def put(self, experiment: str, user_id: str, variant: str) -> str:
        """Record the arm unless one is recorded; the recorded arm."""
        with self._lock:
            return self._arms.setdefault((experiment, user_id), variant)


class SqliteStickyStore:
    """Assignments in a SQLite file, shared by the processes of one host; the first writer of a
    user wins (``INSERT OR IGNORE``), so two processes never record two arms."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        with self._connection() as con:
            con.execute("CREATE TABLE IF NOT EXISTS sticky_arms (experiment TEXT NOT NULL, "
                        "user_id TEXT NOT NULL, variant TEXT NOT NULL, "
                        "PRIMARY KEY (experiment, user_id))")

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30.0)
            # WAL: readers do not wait for a writer; NORMAL: a commit is not an fsync
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            self._local.con = con
        return con

    def get(self, experiment: str, user_id: str) -> str | None:
        """The recorded arm, if any."""
        row = self._connection().execute(
            "SELECT variant FROM sticky_arms WHERE experiment = ? AND user_id = ?",
            (experiment, user_id)).fetchone()
        return None if row is None else str(row[0])

    def put(self, experiment: str, user_id: str, variant: str) -> str:
        """Record the arm unless one is recorded; the recorded arm."""
        con = self._connection()
        with con:
            con.execute("INSERT OR IGNORE INTO sticky_arms VALUES (?, ?, ?)",
                        (experiment, user_id, variant))
        return self.get(experiment, user_id) or variant
