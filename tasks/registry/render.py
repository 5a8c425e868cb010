"""Rendering a prompt version into chat messages (system, few-shot, user)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2

from tasks.errors import UsageError

# Prompts are not HTML: no autoescape. StrictUndefined: a missing variable is an error.
_ENV = jinja2.Environment(
    autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
)


@lru_cache(maxsize=512)
def compile_template(template: str) -> jinja2.Template:
    """The compiled Jinja2 template (cached: rendering is on the request path)."""
    return _ENV.from_string(template)


def render_messages(
    spec: Mapping[str, Any], variables: Mapping[str, Any], *, prompt: str = "prompt"
) -> list[dict[str, str]]:
    """Chat messages for one call: the system prompt, the few-shot messages, the user message.

    Extra variables are ignored; a missing one raises :class:`UsageError` naming it.
    """
    try:
        user = compile_template(spec["template"]).render(**variables)
    except jinja2.UndefinedError as exc:
        raise UsageError(f"{prompt}: missing template variable ({exc.message})") from None
    messages: list[dict[str, str]] = []
    if spec.get("system"):
        messages.append({"role": "system", "content": spec["system"]})
    messages.extend({"role": m["role"], "content": m["content"]} for m in spec.get("few_shot") or [])
    messages.append({"role": "user", "content": user})
    return messages
