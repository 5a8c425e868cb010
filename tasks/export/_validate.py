"""OpenAI's chat fine-tuning data checks, plus exact token counts against a per-model limit.

The format checks and warnings are those of the OpenAI cookbook notebook "Data preparation and
analysis for chat model fine-tuning" (error names kept as the notebook spells them):

errors (the example is not written): ``data_type`` (not a JSON object), ``missing_messages_list``,
``message_missing_key`` (role or content), ``message_unrecognized_key`` (a key other than role,
content, name, function_call, weight), ``unrecognized_role`` (not system/user/assistant/function),
``missing_content`` (content empty or not a string), ``example_missing_assistant_message``; and
ours: ``too_long`` (more tokens than the model's example limit), ``invalid_json``, ``empty_line``.

warnings (written, counted): ``missing_system_message``, ``missing_user_message``, and ours:
``repetitive_content`` (a message of >= 200 characters that zlib compresses below 10% of its
size: degenerate repetition such as "Eat a banana!" x 2000).
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flywheel.tasks.errors import UsageError
from flywheel.tasks.export._tokens import count_assistant, count_messages, encoding_name

MESSAGE_KEYS = frozenset({"role", "content", "name", "function_call", "weight"})
ROLES = frozenset({"system", "user", "assistant", "function"})
REPETITION_MIN_CHARS, REPETITION_MAX_RATIO = 200, 0.10

# The guide's default-epoch rule, used for its training-cost estimate.
TARGET_EPOCHS, MIN_TARGET_EXAMPLES, MAX_TARGET_EXAMPLES = 3, 100, 25000
MIN_DEFAULT_EPOCHS, MAX_DEFAULT_EPOCHS = 1, 25


@dataclass
class ExampleReport:
    """What the validator found in one example."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tokens: int | None = None
    assistant_tokens: int | None = None
    n_messages: int | None = None
    detail: str | None = None  # e.g. where a line stops being JSON

    @property
    def valid(self) -> bool:
        """No errors: the example may be written."""
        return not self.errors


def format_errors(example: Any) -> list[str]:
    """The notebook's format checks, each error code at most once per example."""
    if not isinstance(example, dict):
        return ["data_type"]
    messages = example.get("messages")
    if not messages or not isinstance(messages, list):
        return ["missing_messages_list"]
    found: list[str] = []

    def add(code: str) -> None:
        if code not in found:
            found.append(code)

    for message in messages:
        if not isinstance(message, dict):
            add("message_missing_key")
            continue
        if "role" not in message or "content" not in message:
            add("message_missing_key")
        if any(k not in MESSAGE_KEYS for k in message):
            add("message_unrecognized_key")
        if message.get("role") not in ROLES:
            add("unrecognized_role")
        content = message.get("content")
        if (not content and not message.get("function_call")) or not isinstance(content, str):
            add("missing_content")
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        add("example_missing_assistant_message")
    return found


def _repetitive(text: str) -> bool:
    raw = text.encode("utf-8")
    if len(raw) < REPETITION_MIN_CHARS:
        return False
    return len(zlib.compress(raw)) / len(raw) < REPETITION_MAX_RATIO


class Validator:
    """Checks examples for one target model and its per-example token limit."""

    def __init__(self, model: str, token_limit: int) -> None:
        """``model`` picks the tokenizer; ``token_limit`` is the most tokens an example may have."""
        self.model = model
        self.token_limit = token_limit

    def check(self, example: Any) -> ExampleReport:
        """Errors, warnings and token counts of one example."""
        report = ExampleReport(errors=format_errors(example))
        if report.errors:
            return report
        messages = example["messages"]
        roles = {m["role"] for m in messages}
        if "system" not in roles:
            report.warnings.append("missing_system_message")
        if "user" not in roles:
            report.warnings.append("missing_user_message")
        if any(_repetitive(m["content"]) for m in messages):
            report.warnings.append("repetitive_content")
        report.n_messages = len(messages)
        report.tokens = count_messages(messages, self.model)
        report.assistant_tokens = count_assistant(messages, self.model)
        if report.tokens > self.token_limit:
            report.errors.append("too_long")
        return report

    def settings(self) -> dict[str, Any]:
        """The model, tokenizer and limit, as recorded in manifests and reports."""
        return {"model": self.model, "tokenizer": encoding_name(self.model),
                "token_limit": self.token_limit}


def _distribution(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    arr = np.asarray(values, dtype=float)
    return {
        "min": float(arr.min()), "max": float(arr.max()), "mean": float(arr.mean()),
        "median": float(np.median(arr)), "p5": float(np.quantile(arr, 0.05)),
        "p95": float(np.quantile(arr, 0.95)),
    }


def summarize(reports: Iterable[ExampleReport], token_limit: int) -> dict[str, Any]:
    """Counts by error and warning, the guide's distributions and its training-token estimate."""
    reports = list(reports)
    errors: Counter[str] = Counter(code for r in reports for code in r.errors)
    warnings: Counter[str] = Counter(code for r in reports for code in r.warnings)
    counted = [r for r in reports if r.tokens is not None]
    tokens = [r.tokens for r in counted if r.tokens is not None]
    n_valid = sum(r.valid for r in reports)
    # The guide's estimate: every well-formed example, an over-long one truncated at the limit.
    n_counted = len(tokens)
    epochs = TARGET_EPOCHS
    if n_counted and n_counted * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_counted)
    elif n_counted * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_counted)
    billing = sum(min(token_limit, t) for t in tokens)
    return {
        "examples": len(reports),
        "valid": n_valid,
        "invalid": len(reports) - n_valid,
        "errors": dict(sorted(errors.items())),
        "warnings": dict(sorted(warnings.items())),
        "distributions": {
            "messages_per_example": _distribution([r.n_messages or 0 for r in counted]),
            "tokens_per_example": _distribution(tokens),
            "assistant_tokens_per_example": _distribution(
                [r.assistant_tokens or 0 for r in counted]),
        },
        "training_tokens": {"per_epoch": billing, "default_epochs": epochs,
                            "total": billing * epochs},
    }


def validate_jsonl(path: Path, validator: Validator) -> dict[str, Any]:
    """Validate every line of a JSONL file; the summary plus the problems of each line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read as UTF-8 text: {exc}") from None
    reports: list[ExampleReport] = []
    lines: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            report = ExampleReport(errors=["empty_line"])
        else:
            try:
                report = validator.check(json.loads(line))
            except json.JSONDecodeError as exc:
                report = ExampleReport(errors=["invalid_json"],
                                       detail=f"{exc.msg} at column {exc.colno}")
        reports.append(report)
        if report.errors or report.warnings:
            entry = {"line": number, "errors": report.errors, "warnings": report.warnings,
                     "tokens": report.tokens}
            if report.detail:
                entry["detail"] = report.detail
            lines.append(entry)
    summary = summarize(reports, validator.token_limit)
    return {"file": str(path), **validator.settings(), **summary, "lines": lines,
            "ok": summary["invalid"] == 0}
