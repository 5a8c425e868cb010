"""The bounded memo the redactor, the leakage guard and the token counter share."""

from __future__ import annotations

import pytest

from flywheel.tasks._memo import TextMemo

pytestmark = pytest.mark.unit


def test_a_text_is_computed_once_and_the_memo_forgets_past_its_bound() -> None:
    calls: list[str] = []

    def length(text: str) -> int:
        calls.append(text)
        return len(text)

    memo = TextMemo(length, max_chars=10)
    assert [memo("abcd"), memo("abcd"), memo("efgh")] == [4, 4, 4]
    assert calls == ["abcd", "efgh"]
    assert memo("ijkl") == 4  # 12 characters would pass the bound: it forgets, then holds this
    assert memo("abcd") == 4 and memo("ijkl") == 4
    assert calls == ["abcd", "efgh", "ijkl", "abcd"]
