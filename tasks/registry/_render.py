"""Rendering a prompt version into chat messages (system, few-shot, user)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2

from flywheel.tasks.errors import UsageError

# Prompts are not HTML: no autoescape. StrictUndefined: a missing variable is an error.
_ENV = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined,
                          keep_trailing_newline=True)
_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")


def environment() -> jinja2.Environment:
    """The Jinja2 environment prompts are parsed and rendered with."""
    return _ENV


@lru_cache(maxsize=512)
def compile_template(template: str) -> jinja2.Template:
    """The compiled Jinja2 template (cached: rendering is on the request path)."""
    return _ENV.from_string(template)


def template_syntax_error(template: str) -> jinja2.TemplateSyntaxError | None:
    """The syntax error of a template, or None when it parses."""
    try:
        _ENV.parse(template)
    except jinja2.TemplateSyntaxError as exc:
        return exc
    return None


def render_messages(
    spec: Mapping[str, Any], variables: Mapping[str, Any], *, prompt: str = "prompt"
) -> list[dict[str, str]]:
    """Chat messages for one call: the system prompt, the few-shot messages, the user message.

    Only the template is rendered (system and few-shot text are sent as written). Extra
    variables are ignored; a missing one raises :class:`UsageError` naming it.
    """
    try:
        user = compile_template(spec["template"]).render(dict(variables))
    except jinja2.UndefinedError as exc:
        match = _UNDEFINED_NAME.match(exc.message or "")
        what = f"variable {match.group(1)!r}" if match else f"variable ({exc.message})"
        raise UsageError(f"{prompt}: missing template {what}") from None
    except jinja2.TemplateError as exc:
        raise UsageError(f"{prompt}: template failed to render: {exc}") from None
    messages: list[dict[str, str]] = []
    if spec.get("system"):
        messages.append({"role": "system", "content": spec["system"]})
    few_shot = spec.get("few_shot") or []
    messages.extend({"role": m["role"], "content": m["content"]} for m in few_shot)
    messages.append({"role": "user", "content": user})
    return messages
