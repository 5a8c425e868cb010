"""Normalization and content hashes shared by deduplication, the leakage guard and the split."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from flywheel.tasks.registry import canonical_json

_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, case-folded, whitespace runs collapsed to one space, trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 text, as 64 hex characters."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def exact_key(value: Any) -> str:
    """Hash of a JSON value exactly as it is (canonical JSON: key order does not matter)."""
    return sha256_hex(canonical_json(value))


def normalized_messages_key(messages: Sequence[Mapping[str, Any]]) -> str:
    """Hash of the messages with every content normalized (whitespace and case ignored)."""
    return exact_key([[m.get("role"), normalize(str(m.get("content", "")))] for m in messages])


def vars_text(variables: Mapping[str, Any]) -> str:
    """The text of a set of template variables: string values (others as canonical JSON),
    in key order, one per line. Eval cases and logged inputs are compared through it."""
    parts = []
    for key in sorted(variables):
        value = variables[key]
        parts.append(value if isinstance(value, str) else canonical_json(value))
    return "\n".join(parts)


def bucket(key: str, salt: str = "flywheel-split") -> float:
    """A number in [0, 1] fixed by ``key`` alone: the same key always falls in the same bucket."""
    return int(sha256_hex(f"{salt}:{key}")[:8], 16) / 0xFFFFFFFF
