"""Exact token counts of chat examples with OpenAI's tokenizers, offline (``bpe-openai``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

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


def rust_tokenizer(name: str) -> Any:
    """bpe-openai's Rust tokenizer of encoding ``name`` (``.count(text)``: its tokens, special
    tokens counted as ordinary text), loaded without importing the ``bpe_openai`` package:
    the package reads three vocabularies in Python when imported (0.55 CPU s), which the Rust
    tokenizer, built from its own copy, never uses (0.06 s). None when the installed
    bpe-openai is laid out otherwise."""
    spec = importlib.util.find_spec("bpe_openai")
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = [path for folder in folders for path in sorted(Path(folder).glob("_bindings*.so"))]
    if not found:
        return None
    bindings_spec = importlib.util.spec_from_file_location("bpe_openai._bindings", found[0])
    if bindings_spec is None or bindings_spec.loader is None:
        return None
    bindings = importlib.util.module_from_spec(bindings_spec)
    try:
        bindings_spec.loader.exec_module(bindings)
        return bindings.tokenizer_for_encoding(name)
    except (ImportError, AttributeError, ValueError):
        return None


@cache
def _counter(name: str) -> TextMemo[int]:
    """Tokens per text in encoding ``name``: roles and system messages repeat in every example."""
    tokenizer = rust_tokenizer(name)
    if tokenizer is not None:
        return TextMemo(tokenizer.count)
    import bpe_openai  # the public API: the same counts, half a second more to import

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
