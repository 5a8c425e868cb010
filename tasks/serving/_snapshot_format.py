"""The serving snapshot file (``serving.json``): its envelope, checksum and validation.

The file is one JSON object::

    {"schema": "flywheel.serving", "schema_version": 1, "generation": 42,
     "generated_at": "2026-11-05T03:12:09.123+00:00", "reason": "nightly 2026-11-04",
     "prompts":     {NAME: {"labels": {LABEL: HASH}, "rollouts": {LABEL: {...}}}},
     "versions":    {HASH: {"name": NAME, "content": {model, template, system, params, few_shot}}},
     "experiments": {NAME: {"variants": [{"name", "hash", "prompt", "ref"}], "weights": [...],
                            "start": ISO, "end": ISO | null, "rollout": {...} | null,
                            "allocation": {...}}},    # bandits only (docs/serving.md)
     "sha256": "<hex>"}

``sha256`` is the SHA-256 of the canonical JSON (the form of docs/contracts.md, "Prompt files and the version hash": sorted keys, no spaces, no
ASCII escaping, UTF-8) of every other key of the object, so the check does not depend on how
the file is indented. Standard library only: applications import this.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from flywheel.tasks.registry import canonical_json

SCHEMA = "flywheel.serving"
SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})
_SECTIONS = ("prompts", "versions", "experiments")


class SnapshotError(ValueError):
    """A serving snapshot that cannot be used: unreadable, not JSON, wrong checksum, unknown schema."""


def body_checksum(document: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of every key but ``sha256``."""
    body = {key: value for key, value in document.items() if key != "sha256"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def encode(document: Mapping[str, Any]) -> bytes:
    """The file's bytes: the document with its checksum added, indented for people to read."""
    sealed = {**document, "sha256": body_checksum(document)}
    return (json.dumps(sealed, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def decode(data: bytes, *, source: str = "serving.json") -> dict[str, Any]:
    """The verified document in ``data``; :class:`SnapshotError` naming what is wrong otherwise."""
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{source}: not UTF-8 ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{source}: not valid JSON (line {exc.lineno}: {exc.msg}); "
                            "a half-written file?") from None
    if not isinstance(document, dict):
        raise SnapshotError(f"{source}: not a JSON object")
    if document.get("schema") != SCHEMA:
        raise SnapshotError(f"{source}: schema is {document.get('schema')!r}, not {SCHEMA!r}")
    version = document.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        known = ", ".join(map(str, sorted(SUPPORTED_SCHEMA_VERSIONS)))
        raise SnapshotError(f"{source}: unknown schema_version {version!r} (this client reads "
                            f"{known}); upgrade the client")
    stated = document.get("sha256")
    actual = body_checksum(document)
    if stated != actual:
        raise SnapshotError(f"{source}: checksum mismatch (file says {str(stated)[:12]}, content "
                            f"hashes to {actual[:12]}); a corrupt or hand-edited file")
    generation = document.get("generation")
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 1:
        raise SnapshotError(f"{source}: generation must be a positive integer, not {generation!r}")
    for section in _SECTIONS:
        if not isinstance(document.get(section), dict):
            raise SnapshotError(f"{source}: {section!r} must be an object")
    return document
