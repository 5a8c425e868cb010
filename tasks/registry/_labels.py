"""Labels: movable names for versions (``support@production``), and their append-only history.

Every move is one transaction that appends a ``label_history`` row and moves the label with a
compare-and-set on the hash it read, so a label can never be torn between two movers: DuckDB's
one-writer-per-file lock serialises processes, and within one process a conflicting transaction
is retried from a fresh read.

Rollback semantics (docs/registry.md): the ``initial`` and ``promote`` moves of a label form a
stack; a ``rollback`` pops the newest move that no rollback has undone, moving the label back to
that move's ``from_hash`` and recording ``undoes_move_id``. Rolling back twice walks back two
promotions. The move that created the label cannot be rolled back.
"""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import duckdb

from flywheel.tasks.db import fetch_dicts, run, transaction
from flywheel.tasks.errors import FlywheelError, UsageError
from flywheel.tasks.registry._hashing import SHORT_HASH_LEN
from flywheel.tasks.registry._loader import LABEL_PATTERN
from flywheel.tasks.registry._store import PromptVersion, require_name, resolve

DEFAULT_LABEL = "production"
CONFLICT_RETRIES = 8
_T = TypeVar("_T")


@dataclass(frozen=True)
class LabelMove:
    """One row of the label history."""

    move_id: int
    name: str
    label: str
    from_hash: str | None
    to_hash: str
    action: str  # initial | promote | rollback
    moved_at: datetime
    moved_by: str
    reason: str | None
    undoes_move_id: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ISO timestamps."""
        out = asdict(self)
        out["moved_at"] = self.moved_at.isoformat()
        return out


@dataclass(frozen=True)
class MoveResult:
    """What a promote or rollback did. ``move`` is None when the label already pointed there."""

    name: str
    label: str
    from_hash: str | None
    to_hash: str
    move: LabelMove | None

    @property
    def changed(self) -> bool:
        """Whether the label moved."""
        return self.move is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary of the move."""
        return {
            "name": self.name, "label": self.label, "changed": self.changed,
            "from_hash": self.from_hash, "to_hash": self.to_hash,
            "move": self.move.to_dict() if self.move else None,
        }


class _LabelRaced(Exception):
    """The label moved between our read and our compare-and-set: retry from a fresh read."""


def default_actor() -> str:
    """Who is moving a label when ``--by`` is not given: ``$USER``, else the login name."""
    user = os.environ.get("USER") or os.environ.get("USERNAME")
    if user:
        return user
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def check_label(label: str) -> str:
    """The label, or :class:`UsageError` if it is not a valid label name."""
    if not LABEL_PATTERN.match(label):
        raise UsageError(f"bad label {label!r}: use letters, digits, '.', '_', '-'")
    return label


def _move_of(row: dict[str, Any]) -> LabelMove:
    return LabelMove(**row)


def _retrying(con: duckdb.DuckDBPyConnection, work: Callable[[], _T]) -> _T:
    """Run ``work`` in one transaction; on a write conflict, roll back and run it again."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            with transaction(con):
                return work()
        except (_LabelRaced, duckdb.TransactionException, duckdb.ConstraintException):
            if attempt == CONFLICT_RETRIES - 1:
                raise FlywheelError(
                    f"label move kept conflicting with concurrent moves ({CONFLICT_RETRIES} tries)"
                ) from None
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def _current(con: duckdb.DuckDBPyConnection, name: str, label: str) -> str | None:
    row = run(con, "registry/label_current", {"name": name, "label": label}).fetchone()
    return row[0] if row else None


def _record_move(
    con: duckdb.DuckDBPyConnection, *, name: str, label: str, from_hash: str | None,
    to_hash: str, action: str, by: str, reason: str | None, undoes: int | None, now: datetime,
) -> LabelMove:
    """Move the label (compare-and-set on ``from_hash``) and append the history row."""
    if from_hash is None:
        run(con, "registry/label_insert",
            {"name": name, "label": label, "to_hash": to_hash, "now": now})
    else:
        moved = run(con, "registry/label_move", {"name": name, "label": label, "to_hash": to_hash,
                                                 "from_hash": from_hash, "now": now}).fetchall()
        if len(moved) != 1:
            raise _LabelRaced()
    cur = run(con, "registry/history_insert", {
        "name": name, "label": label, "from_hash": from_hash, "to_hash": to_hash,
        "action": action, "now": now, "moved_by": by, "reason": reason, "undoes_move_id": undoes,
    })
    columns = [d[0] for d in cur.description]
    return _move_of(dict(zip(columns, cur.fetchone(), strict=True)))


def resolve_for_name(con: duckdb.DuckDBPyConnection, name: str, ref: str) -> PromptVersion:
    """The version ``ref`` names, which must be registered under ``name``.

    A bare hash prefix is looked up among ``name``'s versions (``abc123`` = ``name:abc123``).
    """
    require_name(con, name)
    ref = ref.strip()
    if "@" not in ref and ":" not in ref:
        ref = f"{name}:{ref}"
    version = resolve(con, ref)
    if not fetch_dicts(con, "registry/name_has_version", {"name": name, "hash": version.hash}):
        others = ", ".join(r["name"] for r in fetch_dicts(
            con, "registry/names_of_hash", {"hash": version.hash}))
        raise UsageError(
            f"version {version.short} ({ref}) is not registered under the name {name!r} "
            f"(it is registered as: {others}); register it under {name!r} first"
        )
    return version


def promote(
    con: duckdb.DuckDBPyConnection, name: str, ref: str, *, label: str = DEFAULT_LABEL,
    reason: str | None = None, by: str | None = None, now: datetime | None = None,
) -> MoveResult:
    """Point ``name@label`` at the version ``ref`` names (creating the label if it is new).

    The version must be registered under ``name``. Promoting to where the label already points
    changes nothing and records nothing.
    """
    check_label(label)
    version = resolve_for_name(con, name, ref)
    actor = by or default_actor()

    def work() -> MoveResult:
        current = _current(con, name, label)
        if current == version.hash:
            return MoveResult(name, label, current, version.hash, None)
        move = _record_move(con, name=name, label=label, from_hash=current, to_hash=version.hash,
                            action="promote", by=actor, reason=reason, undoes=None,
                            now=now or datetime.now(UTC))
        return MoveResult(name, label, current, version.hash, move)

    return _retrying(con, work)


def rollback_target(con: duckdb.DuckDBPyConnection, name: str, label: str) -> LabelMove:
    """The move a rollback of ``name@label`` would undo; :class:`UsageError` if there is none."""
    check_label(label)
    rows = fetch_dicts(con, "registry/rollback_target", {"name": name, "label": label})
    if not rows:
        require_name(con, name)
        raise UsageError(f"cannot roll back {name}@{label}: the label does not exist")
    top = _move_of(rows[0])
    if top.from_hash is None:
        how = "declared in a prompt file" if top.action == "initial" else "promoted"
        raise UsageError(
            f"cannot roll back {name}@{label}: no promotion left to undo. The label was created "
            f"by move {top.move_id} ({how} at {top.to_hash[:SHORT_HASH_LEN]}) and every "
            "promotion since has been rolled back. Use `flywheel prompts promote` to move it."
        )
    return top


def rollback(
    con: duckdb.DuckDBPyConnection, name: str, *, label: str = DEFAULT_LABEL,
    reason: str | None = None, by: str | None = None, now: datetime | None = None,
) -> MoveResult:
    """Move ``name@label`` back to where it pointed before its last not-yet-undone promotion."""
    actor = by or default_actor()

    def work() -> MoveResult:
        top = rollback_target(con, name, label)
        current = _current(con, name, label)
        if current != top.to_hash:
            raise FlywheelError(
                f"label history of {name}@{label} is inconsistent: the label points to "
                f"{(current or 'nothing')[:SHORT_HASH_LEN]} but move {top.move_id} moved it to "
                f"{top.to_hash[:SHORT_HASH_LEN]}; was prompt_labels edited by hand?"
            )
        assert top.from_hash is not None  # rollback_target refuses the creating move
        move = _record_move(con, name=name, label=label, from_hash=current, to_hash=top.from_hash,
                            action="rollback", by=actor, reason=reason, undoes=top.move_id,
                            now=now or datetime.now(UTC))
        return MoveResult(name, label, current, top.from_hash, move)

    return _retrying(con, work)


def place_initial_label(
    con: duckdb.DuckDBPyConnection, name: str, label: str, to_hash: str, *, source_file: str,
    by: str | None = None, now: datetime | None = None,
) -> LabelMove | None:
    """Create ``name@label`` at ``to_hash`` if the label does not exist yet; else do nothing.

    Runs inside the caller's transaction (``prompts sync`` registers and labels in one).
    """
    if _current(con, name, label) is not None:
        return None
    return _record_move(con, name=name, label=label, from_hash=None, to_hash=to_hash,
                        action="initial", by=by or default_actor(),
                        reason=f"initial label from {source_file}", undoes=None,
                        now=now or datetime.now(UTC))


def current_label(con: duckdb.DuckDBPyConnection, name: str, label: str) -> str | None:
    """The hash ``name@label`` points to, or None if the label does not exist."""
    return _current(con, name, label)


def history(
    con: duckdb.DuckDBPyConnection, name: str, *, label: str | None = None
) -> list[LabelMove]:
    """Every move of ``name``'s labels (or of one label), newest first."""
    rows = fetch_dicts(con, "registry/history_of_name", {"name": name, "label": label})
    if not rows:
        require_name(con, name)
    return [_move_of(r) for r in rows]
