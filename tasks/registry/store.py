"""Prompt versions and labels in DuckDB: registering content and resolving a REF.

REF syntax (CONTRACTS §1): ``NAME@LABEL``, ``NAME:HASH`` (a unique prefix of >= 6 hex
characters), or ``HASH`` alone (>= 6 hex characters).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from tasks.db import fetch_dicts, run
from tasks.errors import UsageError
from tasks.registry.hashing import SHORT_HASH_LEN, canonical_content, canonical_json, prompt_hash

_HEX = re.compile(r"^[0-9a-f]{6,64}$")
MIN_PREFIX = 6


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


def resolve(con: duckdb.DuckDBPyConnection, ref: str) -> PromptVersion:
    """The version a REF names; :class:`UsageError` (listing candidates) if unknown or ambiguous."""
    ref = ref.strip()
    if "@" in ref:
        name, label = ref.split("@", 1)
        rows = fetch_dicts(con, "registry/label_get", {"name": name, "label": label})
        if rows:
            return _version(rows[0])
        labels = fetch_dicts(con, "registry/labels_of_name", {"name": name})
        known = ", ".join(f"{name}@{r['label']}" for r in labels) or "none"
        raise UsageError(f"unknown prompt reference {ref!r}: labels of {name!r}: {known}")
    name, prefix = ref.split(":", 1) if ":" in ref else (None, ref)
    prefix = prefix.lower()
    if not _HEX.match(prefix):
        raise UsageError(
            f"bad prompt reference {ref!r}: use NAME@LABEL, NAME:HASH or HASH "
            f"(at least {MIN_PREFIX} hex characters)"
        )
    rows = fetch_dicts(con, "registry/version_by_prefix", {"prefix": prefix, "name": name})
    if len(rows) == 1:
        return _version(rows[0])
    if not rows:
        raise UsageError(f"unknown prompt reference {ref!r}: no registered version matches")
    candidates = ", ".join(f"{r['name']}:{r['hash'][:SHORT_HASH_LEN]}" for r in rows)
    raise UsageError(f"ambiguous prompt reference {ref!r}: candidates: {candidates}")
