"""A bounded memo of results per text, for pure functions over texts that repeat.

A night's exports pass the same texts through the same checks: every example of a prompt carries
its system message, and the fine-tuning and preference exports look at the same corrections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# Characters of text a memo may hold before it forgets everything and starts again: it keeps
# the texts alive, so the bound is on what they weigh, not on how many there are.
REMEMBERED_CHARS = 20_000_000


class TextMemo(Generic[T]):
    """``compute(text)`` once per distinct text, until the texts held pass ``max_chars``."""

    def __init__(self, compute: Callable[[str], T], max_chars: int = REMEMBERED_CHARS) -> None:
        self._compute = compute
        self._max_chars = max_chars
        self._results: dict[str, T] = {}
        self._chars = 0

    def __call__(self, text: str) -> T:
        """The result for ``text``, computed on its first call."""
        try:
            return self._results[text]
        except KeyError:
            pass
        result = self._compute(text)
        if self._chars + len(text) > self._max_chars:
            self._results.clear()
            self._chars = 0
        self._results[text] = result
        self._chars += len(text)
        return result
