"""Candidates as prompt specs: the parent's content with chosen few-shot pairs and/or a revised
system prompt. The content decides the hash (docs/hashing.md), so the same pairs and the same
rewrite on the same parent always give the same version."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from flywheel.tasks.optimize._pairs import Pair

CONTENT_KEYS = ("model", "system", "few_shot", "template", "params")


def few_shot_of(pairs: Sequence[Pair]) -> list[dict[str, str]]:
    """The few-shot messages of the pairs: each input as the user message the template renders,
    its correction as the assistant's answer."""
    messages: list[dict[str, str]] = []
    for pair in pairs:
        messages += [{"role": "user", "content": pair.user_message},
                     {"role": "assistant", "content": pair.corrected}]
    return messages


def candidate_spec(name: str, parent: Mapping[str, Any], *, few_shot: Sequence[Pair] | None,
                   system: str | None, description: str) -> dict[str, Any]:
    """A prompt file's spec: ``parent``'s content, its few-shot examples replaced by the pairs'
    (when given) and its system prompt by ``system`` (when given)."""
    spec: dict[str, Any] = {"name": name, "description": description,
                            "author": "flywheel-optimize"}
    for key in CONTENT_KEYS:
        if key in parent and parent[key] not in (None, [], {}):
            spec[key] = copy.deepcopy(parent[key])
    if few_shot:
        spec["few_shot"] = few_shot_of(few_shot)
    if system is not None:
        spec["system"] = system
    ordered = ("name", "description", "author", "model", "system", "few_shot", "template",
               "params")
    return {k: spec[k] for k in ordered if k in spec}
