"""User-sourced text on its way into a report: redacted (tasks/redact.py, the one redaction
module), cut to a readable length, and escaped for Markdown (HTML is escaped by Jinja2's
autoescape).

Redaction is applied to the whole evidence of a report before anything renders it
(:func:`redact_tree`), so neither the HTML, the Markdown, the charts nor the Prefect artifacts
can show a secret or personal data that the redactor finds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from flywheel.tasks import escape
from flywheel.tasks.config import RedactSettings
from flywheel.tasks.redact import Redactor

_HEX = re.compile(r"^[0-9a-f]{6,64}$")


def redactor_of(settings: RedactSettings) -> Redactor:
    """The redactor configured in ``[redact]`` of flywheel.toml."""
    return Redactor(types=settings.types, allow=settings.allow)


def redact_tree(value: Any, redactor: Redactor) -> Any:
    """Every string inside a JSON-like value redacted (dictionary keys included); full or
    abbreviated version hashes (lowercase hex) are left as they are."""
    if isinstance(value, str):
        return value if _HEX.match(value) else redactor.redact(value)
    if isinstance(value, Mapping):
        return {redact_tree(k, redactor) if isinstance(k, str) else k: redact_tree(v, redactor)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v, redactor) for v in value]
    return value


def cut(text: str | None, limit: int) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut); '' for None."""
    if text is None:
        return ""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def md(value: Any) -> Markup:
    """Inline Markdown for untrusted text (:func:`flywheel.tasks.escape.markdown`), marked as
    Markdown already made."""
    return Markup(escape.markdown(value))


def md_finalize(value: Any) -> Any:
    """Jinja2 ``finalize`` of the Markdown environment: every expression is escaped with
    :func:`md` unless a filter already produced Markdown (a :class:`Markup`)."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("–")
    return md(value)


def md_fence(text: str, lang: str = "") -> Markup:
    """A fenced code block holding ``text`` verbatim: the fence is longer than any run of
    backticks inside, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text.replace("\r", "")
    return Markup(f"{fence}{lang}\n{body}\n{fence}")
