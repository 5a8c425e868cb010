"""Python checks used by the example eval sets
(``{"type": "python", "value": "evalsets.checks:NAME"}``).

Each is called as ``check(output, record)`` with the model output and the eval case's JSON object,
and returns a bool or a score from 0 to 1.
"""

from __future__ import annotations

import re
from typing import Any

_SENTENCE_END = re.compile(r"[.!?。](?:\s|$)")


def at_most_four_sentences(output: str, record: dict[str, Any]) -> bool:
    """The support prompt asks for at most four sentences."""
    return len(_SENTENCE_END.findall(output.strip())) <= 4


def mentions_order(output: str, record: dict[str, Any]) -> bool:
    """When the customer gave an order id, the answer refers to it."""
    order_id = record.get("vars", {}).get("order_id")
    return order_id is None or order_id in output


def brevity(output: str, record: dict[str, Any]) -> float:
    """1 for a summary of at most 30 words, falling linearly to 0 at 60 words."""
    words = len(output.split())
    return max(0.0, min(1.0, (60 - words) / 30))


def no_bullets(output: str, record: dict[str, Any]) -> bool:
    """A summary for the on-call engineer is prose, not a bullet list."""
    return not any(line.lstrip().startswith(("- ", "* ", "• ")) for line in output.splitlines())
