"""The version hash of a prompt (docs/contracts.md, "Prompt files and the version hash"): SHA-256 of the canonical JSON of its content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

HASHED_KEYS = ("model", "template", "system", "params", "few_shot")
FLOAT_PARAMS = frozenset({"temperature", "top_p", "presence_penalty", "frequency_penalty"})
INT_PARAMS = frozenset({"max_tokens", "seed"})
SHORT_HASH_LEN = 12


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)


def _canonical_params(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if _is_empty(value):
            continue
        if key in FLOAT_PARAMS:
            value = float(value)
        elif key in INT_PARAMS:
            value = int(value)
        out[key] = value
    return out


def canonical_content(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed part of a prompt: model, template, system, params, few_shot; empties left out."""
    content: dict[str, Any] = {}
    for key in HASHED_KEYS:
        value = spec.get(key)
        if key == "params" and isinstance(value, Mapping):
            value = _canonical_params(value)
        if key == "few_shot" and isinstance(value, list):
            value = [dict(message) for message in value]
        if not _is_empty(value):
            content[key] = value
    return content


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces, no ASCII escaping: the form that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def prompt_hash(spec: Mapping[str, Any]) -> str:
    """The full 64-hex version hash of a prompt specification."""
    return hashlib.sha256(canonical_json(canonical_content(spec)).encode("utf-8")).hexdigest()
