"""Prompt versions and labels in DuckDB: registering content and resolving a REF.

REF syntax (docs/contracts.md, "Command line"): ``NAME@LABEL``, ``NAME:HASH`` (a unique prefix of >= 6 hex
characters), or ``HASH`` alone (>= 6 hex characters).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from flywheel.tasks.db import fetch_dicts, run
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry._hashing import SHORT_HASH_LEN, canonical_content, canonical_json, prompt_hash

_HEX = re.compile(r"^[0-9a-f]{6,64}$")
MIN_PREFIX = 6
MAX_CANDIDATES = 10  # versions listed in an error message


@dataclass(frozen=True)
class PromptVersion:
    """One registered prompt version: its full hash, a name it is known by, its content."""

    hash: str
    name: str
    content: dict[str, Any]  # canonical: model, template, system, params, few_shot
    metadata: dict[str, Any]

    @property
    def short(self) -> str:
        """The 12-character short form of the hash."""
        return self.hash[:SHORT_HASH_LEN]


def register_version(
    con: duckdb.DuckDBPyConnection,
    spec: Mapping[str, Any],
    *,
    source_file: str | None = None,
    now: datetime | None = None,
) -> tuple[PromptVersion, bool]:
    """Register a validated prompt spec; returns the version and whether it was new."""
    now = now or datetime.now(UTC)
    name = str(spec["name"])
    content = canonical_content(spec)
    digest = prompt_hash(spec)
    metadata = {k: spec[k] for k in ("description", "author", "tags") if spec.get(k) is not None}
    if source_file:
        metadata["source_file"] = source_file
    inserted = run(
        con,
        "registry/version_insert",
        {"hash": digest, "name": name, "content": canonical_json(content),
         "metadata": canonical_json(metadata), "now": now},
    ).fetchone()[0]
    run(con, "registry/name_insert",
        {"name": name, "hash": digest, "source_file": source_file, "now": now})
    return PromptVersion(digest, name, content, metadata), bool(inserted)


def _version(row: Mapping[str, Any]) -> PromptVersion:
    return PromptVersion(
        hash=row["hash"], name=row["name"], content=json.loads(row["content"]),
        metadata=json.loads(row["metadata"]) if row["metadata"] else {},
    )


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:  # an abbreviation: 'prod' for 'production'
        close = [o for o in options if o.startswith(word)][:1] if word else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def known_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every prompt name with a registered version, sorted."""
    return [r["name"] for r in fetch_dicts(con, "registry/names")]


def require_name(con: duckdb.DuckDBPyConnection, name: str, ref: str | None = None) -> None:
    """:class:`UsageError` listing the known names unless ``name`` has a registered version."""
    names = known_names(con)
    if name in names:
        return
    what = f"unknown prompt reference {ref!r}: " if ref else ""
    listed = ", ".join(names) if names else "none (run `flywheel prompts sync`)"
    raise UsageError(
        f"{what}unknown prompt name {name!r}{_did_you_mean(name, names)}; known names: {listed}"
    )


def _version_candidates(con: duckdb.DuckDBPyConnection, name: str | None) -> str:
    if name is not None:
        rows = fetch_dicts(con, "registry/versions_of_name",
                           {"name": name, "limit": MAX_CANDIDATES})
        shown = [f"{name}:{r['hash'][:SHORT_HASH_LEN]}"
                 + (f" ({', '.join(r['labels'])})" if r["labels"] else "") for r in rows]
        return f"versions of {name!r}: {', '.join(shown) or 'none'}"
    rows = fetch_dicts(con, "registry/recent_versions", {"limit": MAX_CANDIDATES})
    shown = [f"{r['name']}:{r['hash'][:SHORT_HASH_LEN]}" for r in rows]
    return f"recently registered: {', '.join(shown) or 'none (run `flywheel prompts sync`)'}"


def resolve(con: duckdb.DuckDBPyConnection, ref: str) -> PromptVersion:
    """The version a REF names; :class:`UsageError` (listing candidates) if unknown or ambiguous."""
    ref = ref.strip()
    if not ref:
        raise UsageError("empty prompt reference: use NAME@LABEL, NAME:HASH or HASH")
    if "@" in ref:
        name, label = ref.split("@", 1)
        if not name or not label:
            raise UsageError(f"bad prompt reference {ref!r}: NAME@LABEL needs both parts")
        rows = fetch_dicts(con, "registry/label_get", {"name": name, "label": label})
        if rows:
            return _version(rows[0])
        require_name(con, name, ref)
        labels = [r["label"] for r in fetch_dicts(con, "registry/labels_of_name", {"name": name})]
        known = ", ".join(f"{name}@{label}" for label in labels) or "none yet"
        raise UsageError(
            f"unknown prompt reference {ref!r}: {name!r} has no label {label!r}"
            f"{_did_you_mean(label, labels)}; its labels: {known}"
        )
    name, prefix = ref.split(":", 1) if ":" in ref else (None, ref)
    prefix = prefix.lower()
    if not _HEX.match(prefix) or name == "":
        raise UsageError(
            f"bad prompt reference {ref!r}: use NAME@LABEL, NAME:HASH or HASH "
            f"(at least {MIN_PREFIX} hex characters)"
        )
    if name is not None:
        require_name(con, name, ref)
    rows = fetch_dicts(con, "registry/version_by_prefix", {"prefix": prefix, "name": name})
    if len(rows) == 1:
        return _version(rows[0])
    if not rows:
        raise UsageError(
            f"unknown prompt reference {ref!r}: no registered version matches; "
            f"{_version_candidates(con, name)}"
        )
    candidates = ", ".join(f"{r['name']}:{r['hash'][:SHORT_HASH_LEN]}" for r in rows)
    raise UsageError(
        f"ambiguous prompt reference {ref!r}: candidates: {candidates} (give more hex characters)"
    )
