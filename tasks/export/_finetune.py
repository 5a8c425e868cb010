"""``export finetune``: corrected requests → OpenAI chat fine-tuning JSONL (docs/contracts.md, "Exports").

Per candidate, in order: rebuild the messages (dropped if impossible), append the correction as
the assistant message, redact every content, validate (invalid and too-long dropped), drop
exact and normalized duplicates (the oldest is kept), drop eval-set cases; then split by the
hash of the example into train.jsonl / validation.jsonl and write manifest.json last.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.export._common import TRAINING_DROPS, ExportRun, Tools
from flywheel.tasks.export._select import Candidate, Window
from flywheel.tasks.export._text import bucket, normalized_messages_key
from flywheel.tasks.export._training import (
    Built,
    Kept,
    count_invalid,
    keep_training_examples,
    part_keys,
    redact_messages,
    start_training_export,
    training_manifest,
)
from flywheel.tasks.export._validate import summarize

TRAIN, VALIDATION = "train.jsonl", "validation.jsonl"
LAYOUT = TRAINING_DROPS


def chat_example(candidate: Candidate, export: ExportRun) -> Built | None:
    """The redacted messages with the correction as the assistant's answer, if valid."""
    redactor = export.tools.redactor
    tally: dict[str, int] = {}
    messages = redact_messages(candidate.messages or [], export.tools, tally)
    messages.append({"role": "assistant", "content": redactor.redact(candidate.target, tally)})
    example = {"messages": messages}
    report = export.tools.validator.check(example)
    if not report.valid:
        count_invalid(export.drops, report)
        return None
    return Built(example, messages, normalized_messages_key(messages), report, tally)


def split_files(kept: list[Kept], validation_share: float) -> dict[str, list[dict[str, Any]]]:
    """Each example in train or validation by the hash of its exact key (stable across runs)."""
    files: dict[str, list[dict[str, Any]]] = {TRAIN: [], VALIDATION: []}
    for example in kept:
        files[VALIDATION if bucket(example.key) < validation_share else TRAIN].append(
            example.record)
    return files


def export_finetune(
    settings: Settings, out: str | Path, window: Window | None = None, *,
    night: date | None = None, tools: Tools | None = None,
) -> dict[str, Any]:
    """Write train.jsonl, validation.jsonl and manifest.json into ``out``; returns the summary."""
    include_rated = settings.export.include_rated
    start = start_training_export(settings, out, window, LAYOUT, include_rated=include_rated,
                                  kind="finetune", night=night, tools=tools)
    kept, redactions = keep_training_examples(start, chat_example)
    share = settings.export.validation_share
    stats = summarize([k.report for k in kept], start.run.tools.validator.token_limit)
    manifest = training_manifest(
        start, kept, redactions, stats,
        kind="finetune", format="openai-chat-fine-tuning",
        sources=dict(sorted(Counter(k.candidate.source for k in kept).items())),
        filters=start.run.filters(include_rated=include_rated, validation_share=share),
        training_tokens=stats["training_tokens"],
    )
    return start.run.finish("finetune", split_files(kept, share), manifest, part_keys(kept))
