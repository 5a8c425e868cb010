"""``export preferences``: (original output, corrected output) pairs in OpenAI's preference
fine-tuning format (docs/contracts.md, "Exports"), with the same rebuild, redaction, validation, dedup and
leakage guard as the fine-tuning export. A pair whose two outputs are equal after normalization
(whitespace and case) teaches nothing and is skipped.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.export._common import TRAINING_DROPS, ExportRun, Tools
from flywheel.tasks.export._select import Candidate, Window
from flywheel.tasks.export._text import normalize, normalized_messages_key
from flywheel.tasks.export._training import (
    Built,
    count_invalid,
    keep_training_examples,
    part_keys,
    redact_messages,
    start_training_export,
    training_manifest,
)
from flywheel.tasks.export._validate import ExampleReport, summarize

PREFERENCES = "preferences.jsonl"
LAYOUT = {**TRAINING_DROPS, "no_original_output": None, "equal_after_normalization": None}


def _check_pair(
    tools: Tools, messages: list[dict[str, Any]], preferred: str, rejected: str
) -> ExampleReport:
    """Both completions must make a valid chat example; the longer one decides the length."""
    def check(answer: str) -> ExampleReport:
        return tools.validator.check(
            {"messages": [*messages, {"role": "assistant", "content": answer}]})

    first, second = check(preferred), check(rejected)
    if not second.valid:
        first.errors = list(dict.fromkeys([*first.errors, *second.errors]))
    if (second.tokens or 0) > (first.tokens or 0):
        first.tokens = second.tokens
    return first


def preference_pair(candidate: Candidate, export: ExportRun) -> Built | None:
    """The correction preferred over the original output, if both exist, differ and are valid."""
    if not candidate.output:
        export.drops.add("no_original_output")
        return None
    redactor = export.tools.redactor
    tally: dict[str, int] = {}
    messages = redact_messages(candidate.messages or [], export.tools, tally)
    preferred = redactor.redact(candidate.target, tally)
    rejected = redactor.redact(candidate.output, tally)
    if normalize(preferred) == normalize(rejected):
        export.drops.add("equal_after_normalization")
        return None
    report = _check_pair(export.tools, messages, preferred, rejected)
    if not report.valid:
        count_invalid(export.drops, report)
        return None
    record = {
        "input": {"messages": messages},
        "preferred_output": [{"role": "assistant", "content": preferred}],
        "non_preferred_output": [{"role": "assistant", "content": rejected}],
    }
    normalized = normalized_messages_key(
        [*messages, {"role": "assistant", "content": preferred},
         {"role": "assistant", "content": rejected}])
    return Built(record, messages, normalized, report, tally)


def export_preferences(
    settings: Settings, out: str | Path, window: Window | None = None, *,
    night: date | None = None, tools: Tools | None = None,
) -> dict[str, Any]:
    """Write preferences.jsonl and manifest.json into ``out``; returns the summary."""
    start = start_training_export(settings, out, window, LAYOUT, include_rated=False,
                                  kind="preferences", night=night, tools=tools)
    kept, redactions = keep_training_examples(start, preference_pair)
    stats = summarize([k.report for k in kept], start.run.tools.validator.token_limit)
    manifest = training_manifest(
        start, kept, redactions, stats,
        kind="preferences", format="openai-preference-fine-tuning",
        filters=start.run.filters(),
    )
    return start.run.finish("preferences", {PREFERENCES: [k.record for k in kept]}, manifest,
                            part_keys(kept))
