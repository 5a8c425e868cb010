"""The fine-tuning validator against the OpenAI cookbook's own toy file and published output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.config import ExportSettings, load_settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.export import validate_file
from flywheel.tasks.export._tokens import count_text, encoding_name
from flywheel.tasks.export._validate import Validator, format_errors, validate_jsonl
from tests.conftest import shared_data

pytestmark = pytest.mark.unit

TOY = "finetune/openai_cookbook_toy_chat_fine_tuning.jsonl"


def by_line(report: dict[str, Any]) -> dict[int, tuple[list[str], list[str]]]:
    return {e["line"]: (e["errors"], e["warnings"]) for e in report["lines"]}


def test_the_toy_file_is_flagged_line_by_line(tmp_path: Path) -> None:
    report = validate_file(load_settings(db=tmp_path / "x.duckdb", project_dir=tmp_path),
                           shared_data(TOY))
    assert report["model"] == "gpt-4o-mini" and report["tokenizer"] == "o200k_base"
    assert by_line(report) == {
        3: ([], ["missing_system_message"]),
        4: ([], ["missing_user_message"]),  # "one example has no user turn"
        5: ([], ["repetitive_content"]),  # "one has a very long repeated string"
    }
    assert report["warnings"] == {"missing_system_message": 1, "missing_user_message": 1,
                                  "repetitive_content": 1}


def test_the_toy_file_against_the_guides_4096_limit_reproduces_its_published_numbers() -> None:
    # The notebook's printed output for this file with cl100k_base: totals min/max 26/8032,
    # mean/median 1648.4/45; assistant tokens min/max 4/8000, mean/median 1610.2/10;
    # "1 examples may be over the 4096 token limit"; ~4306 billing tokens, 20 epochs, ~86120.
    report = validate_jsonl(shared_data(TOY), Validator("gpt-3.5-turbo-0613", 4096))
    totals = report["distributions"]["tokens_per_example"]
    assistant = report["distributions"]["assistant_tokens_per_example"]
    assert (totals["min"], totals["max"], totals["median"]) == (26, 8032, 45)
    assert totals["mean"] == pytest.approx(1648.4)
    assert (assistant["min"], assistant["max"], assistant["median"]) == (4, 8000, 10)
    assert assistant["mean"] == pytest.approx(1610.2)
    assert report["errors"] == {"too_long": 1} and not report["ok"]
    assert by_line(report)[5][0] == ["too_long"]
    assert report["training_tokens"] == {"per_epoch": 4306, "default_epochs": 20, "total": 86120}
    assert report["distributions"]["messages_per_example"]["max"] == 9


GOOD = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"}]


@pytest.mark.parametrize(
    ("example", "codes"),
    [
        (["not", "a", "dict"], ["data_type"]),
        ({"prompt": "x"}, ["missing_messages_list"]),
        ({"messages": []}, ["missing_messages_list"]),
        ({"messages": [*GOOD[:2], {"role": "assistant"}]},
         ["message_missing_key", "missing_content"]),
        ({"messages": [*GOOD[:2], {"role": "assistant", "content": "a", "extra": 1}]},
         ["message_unrecognized_key"]),
        ({"messages": [{"role": "robot", "content": "x"}, *GOOD]}, ["unrecognized_role"]),
        ({"messages": [*GOOD[:2], {"role": "assistant", "content": ""}]}, ["missing_content"]),
        ({"messages": [*GOOD[:2], {"role": "assistant", "content": ["parts"]}]},
         ["missing_content"]),
        ({"messages": GOOD[:2]}, ["example_missing_assistant_message"]),
        ({"messages": GOOD}, []),
    ],
)
def test_the_guides_format_checks(example: Any, codes: list[str]) -> None:
    assert format_errors(example) == codes


def test_too_long_uses_the_models_tokenizer_and_limit() -> None:
    text = "word " * 300
    assert encoding_name("gpt-4o-mini-2024-07-18") == "o200k_base"
    assert encoding_name("gpt-3.5-turbo-0125") == "cl100k_base"
    example = {"messages": [*GOOD[:2], {"role": "assistant", "content": text}]}
    tokens = Validator("gpt-4o-mini", 10_000).check(example).tokens
    assert tokens == 3 + sum(3 + count_text(m["role"], "gpt-4o-mini")
                             + count_text(m["content"], "gpt-4o-mini") for m in example["messages"])
    assert Validator("gpt-4o-mini", tokens).check(example).valid
    assert Validator("gpt-4o-mini", tokens - 1).check(example).errors == ["too_long"]


def test_per_model_limits_match_the_longest_prefix() -> None:
    export = ExportSettings()
    assert export.token_limit("gpt-4o-mini-2024-07-18") == 65536
    assert export.token_limit("gpt-3.5-turbo-0613") == 4096
    assert export.token_limit("gpt-3.5-turbo-1106") == 16385
    assert export.token_limit("some-unknown-model") == 4096


def test_bad_lines_are_reported_with_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}, '
                    '{"role": "assistant", "content": "yo"}]}\n\n{"messages": [\n', "utf-8")
    report = validate_jsonl(path, Validator("gpt-4o-mini", 100))
    assert by_line(report) == {1: ([], ["missing_system_message"]), 2: (["empty_line"], []),
                               3: (["invalid_json"], [])}
    assert report["valid"] == 1 and report["invalid"] == 2


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nope\.jsonl: no such file"):
        validate_jsonl(tmp_path / "nope.jsonl", Validator("gpt-4o-mini", 100))


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_the_rust_tokenizer_counts_what_the_public_api_counts(encoding: str) -> None:
    """count_text uses bpe-openai's Rust tokenizer loaded without the package (its import
    reads vocabularies it never uses); it must agree with the public encode_ordinary on real
    text: every message of the OpenAI cookbook's fine-tuning file, special-token strings and
    odd whitespace."""
    import bpe_openai

    from flywheel.tasks.export._tokens import rust_tokenizer

    tokenizer = rust_tokenizer(encoding)
    assert tokenizer is not None
    public = bpe_openai.get_encoding(encoding)
    lines = shared_data(TOY).read_text(encoding="utf-8").splitlines()
    texts = [m["content"] for line in lines if line.strip()
             for m in json.loads(line).get("messages", []) if isinstance(m.get("content"), str)]
    texts += ["<|endoftext|> and <|fim_prefix|> as text", "", " \n\t  ", "🎉 naïve café", "x" * 5000]
    assert len(texts) > 20
    assert [tokenizer.count(t) for t in texts] == [len(public.encode_ordinary(t)) for t in texts]
