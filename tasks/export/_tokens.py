"""Exact token counts of chat examples with OpenAI's tokenizers, offline (``bpe-openai``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import bpe_openai

from flywheel.tasks._memo import TextMemo

# Models before GPT-4o use cl100k_base; GPT-4o, GPT-4.1, o-series and later use o200k_base.
_CL100K_PREFIXES = ("gpt-3.5", "gpt-35", "gpt-4-", "text-embedding-")
_CL100K_EXACT = frozenset({"gpt-4", "cl100k_base"})

# The data-preparation guide's accounting: every message costs 3 tokens of framing, a name 1
# more, and every reply is primed with 3.
TOKENS_PER_MESSAGE, TOKENS_PER_NAME, TOKENS_REPLY_PRIMING = 3, 1, 3


def encoding_name(model: str) -> str:
    """The tokenizer of ``model``: ``cl100k_base`` or ``o200k_base``."""
    if model in _CL100K_EXACT or model.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"


@cache
def _counter(name: str) -> TextMemo[int]:
    """Tokens per text in encoding ``name``: roles and system messages repeat in every example."""
    encoding = bpe_openai.get_encoding(name)
    return TextMemo(lambda text: len(encoding.encode_ordinary(text)))


def count_text(text: str, model: str) -> int:
    """Tokens of ``text`` (special-token strings in user text count as ordinary text)."""
    return _counter(encoding_name(model))(text)


def count_messages(messages: Sequence[Mapping[str, Any]], model: str) -> int:
    """Tokens of a whole example, as the OpenAI cookbook's ``num_tokens_from_messages`` counts."""
    total = TOKENS_REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if isinstance(value, str):
                total += count_text(value, model)
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def count_assistant(messages: Sequence[Mapping[str, Any]], model: str) -> int:
    """Tokens in the assistant messages' content (what the model is trained to produce)."""
    return sum(
        count_text(m["content"], model)
        for m in messages
        if m.get("role") == "assistant" and isinstance(m.get("content"), str)
    )
