"""``prompts sync`` and ``prompts register``: validate prompt files, then register them.

Validation happens first and needs no database. Every valid file is registered, and the labels
it declares are placed where they do not exist yet, in one transaction; a file with any problem
is not registered at all and is reported. Re-registering a known version changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from flywheel.tasks.db import transaction
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry._hashing import SHORT_HASH_LEN
from flywheel.tasks.registry._labels import current_label, default_actor, place_initial_label
from flywheel.tasks.registry._loader import (
    Problem,
    PromptFile,
    PromptFileError,
    display_path,
    load_prompt_file,
    prompt_files,
)
from flywheel.tasks.registry._store import register_version


@dataclass
class SyncResult:
    """What a sync did: versions registered, labels placed or left alone, files refused."""

    folder: str | None
    files_seen: int = 0
    registered: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    labels_created: list[dict[str, Any]] = field(default_factory=list)
    labels_kept: list[dict[str, Any]] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``errors`` as {file, line, key, message})."""
        return {
            "folder": self.folder, "files_seen": self.files_seen,
            "files_valid": len(self.registered) + len(self.unchanged),
            "files_invalid": len({p.file for p in self.errors}),
            "registered": self.registered, "unchanged": self.unchanged,
            "labels_created": self.labels_created, "labels_kept": self.labels_kept,
            "errors": [p.to_dict() for p in self.errors],
        }


class PromptSyncError(UsageError):
    """Some prompt files were invalid (exit 2); the valid ones were registered.

    ``summary`` is the full sync summary (``SyncResult.to_dict()``).
    """

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        self.summary = summary
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.summary))


def load_files(paths: Sequence[Path], base: Path | None) -> tuple[list[PromptFile], list[Problem]]:
    """Validate files; returns the valid ones and every problem of the others.

    Two valid files that declare the same label for the same name at different versions are
    both refused: which one should the label start on?
    """
    valid: list[PromptFile] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            valid.append(load_prompt_file(path, base=base))
        except PromptFileError as exc:
            problems.extend(exc.problems)
    declared: dict[tuple[str, str], list[PromptFile]] = defaultdict(list)
    for prompt in valid:
        for label in prompt.labels:
            declared[(prompt.name, label)].append(prompt)
    refused: set[str] = set()
    for (name, label), files in declared.items():
        if len({f.hash for f in files}) > 1:
            listing = ", ".join(f"{f.display} ({f.hash[:SHORT_HASH_LEN]})" for f in files)
            for f in files:
                refused.add(f.display)
                problems.append(Problem(
                    f.display, None, "labels",
                    f"{name}@{label} is declared by several versions: {listing}; declare an "
                    "initial label in one file only (later moves: `flywheel prompts promote`)",
                ))
    return [f for f in valid if f.display not in refused], problems


def register_files(
    con: duckdb.DuckDBPyConnection, files: Sequence[PromptFile], result: SyncResult, *,
    by: str | None = None, now: datetime | None = None,
) -> SyncResult:
    """Register validated files and place their declared labels, in one transaction."""
    now = now or datetime.now(UTC)
    actor = by or default_actor()
    with transaction(con):
        for prompt in files:
            version, new = register_version(con, prompt.spec, source_file=prompt.display, now=now)
            entry = {"name": prompt.name, "hash": version.hash, "file": prompt.display}
            (result.registered if new else result.unchanged).append(entry)
            for label in prompt.labels:
                move = place_initial_label(con, prompt.name, label, version.hash,
                                           source_file=prompt.display, by=actor, now=now)
                placed = {"name": prompt.name, "label": label, "hash": version.hash,
                          "file": prompt.display}
                if move is not None:
                    result.labels_created.append({**placed, "move_id": move.move_id})
                else:
                    current = current_label(con, prompt.name, label)
                    result.labels_kept.append({**placed, "current_hash": current,
                                               "declared_is_current": current == version.hash})
    return result


def sync_paths(
    con: duckdb.DuckDBPyConnection, paths: Sequence[Path], *, folder: Path | None = None,
    base: Path | None = None, by: str | None = None, now: datetime | None = None,
) -> SyncResult:
    """Validate and register the given prompt files (see the module docstring)."""
    files, problems = load_files(paths, base)
    result = SyncResult(folder=display_path(folder, base) if folder else None,
                        files_seen=len(paths), errors=problems)
    return register_files(con, files, result, by=by, now=now)


def folder_files(folder: Path) -> list[Path]:
    """The prompt files of a folder; :class:`UsageError` if it is not a folder."""
    if not folder.is_dir():
        what = ("is a file; use `flywheel prompts register FILE`" if folder.exists()
                else "no such folder")
        raise UsageError(f"{folder}: {what}")
    return list(prompt_files(folder))


def raise_for_errors(summary: dict[str, Any]) -> None:
    """:class:`PromptSyncError` naming the invalid files, if a sync summary has any."""
    errors = summary["errors"]
    if errors:
        shown = "; ".join(str(Problem(**e)) for e in errors)
        raise PromptSyncError(
            f"{summary['files_invalid']} invalid prompt file(s), not registered "
            f"({summary['files_valid']} valid file(s) were): {shown}",
            summary,
        )
