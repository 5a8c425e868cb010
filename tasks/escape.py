"""Untrusted text (log data, eval sets, experiment and prompt files) escaped for the place it is
shown in: Markdown (Prefect artifacts, the Markdown reports), Slack's message format (the alert
webhook), a terminal. HTML is escaped by Jinja2's autoescape (tasks/reports/_render.py).
"""

from __future__ import annotations

import re
from typing import Any

# Backslash-escapable ASCII punctuation that Markdown (CommonMark, GitHub) gives a meaning to.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~$:])")
_WHITESPACE = re.compile(r"\s+")
# C0 and C1 control characters but newline and tab: ESC starts terminal escape sequences (colours,
# cursor moves, window titles, OSC 8 links), CR and BS overwrite what was printed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def markdown(value: Any) -> str:
    """Inline Markdown for untrusted text: one line, Markdown punctuation backslash-escaped and
    ``<``, ``>``, ``&`` as entities, so nothing in it becomes a tag, a link, emphasis or a table
    cell boundary."""
    text = _WHITESPACE.sub(" ", str(value)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def slack(value: Any) -> str:
    """Text for Slack's message format (``mrkdwn``): ``&``, ``<``, ``>`` escaped as Slack
    requires, so ``<!channel>``, ``<@U123>`` and ``<https://…|text>`` stay text."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def terminal(value: Any) -> str:
    """Text for a terminal: every control character but newline and tab shown as ``\\xNN``
    (escape sequences print as text, never act)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
