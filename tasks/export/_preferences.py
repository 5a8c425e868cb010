"""``export preferences``: (original output, corrected output) pairs in OpenAI's preference
fine-tuning format (docs/contracts.md, "Exports"), with the same rebuild, redaction, validation, dedup and
leakage guard as the fine-tuning export. A pair whose two outputs are equal after normalization
(whitespace and case) teaches nothing and is skipped.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.export._common import (
    TRAINING_DROPS,
    Deduplicator,
    Tools,
    date_range,
    prompt_versions,
)
from flywheel.tasks.export._finetune import (
    count_invalid,
    redact_messages,
    start_training_export,
    summary_of,
    user_texts,
)
from flywheel.tasks.export._output import record_run, write_export
from flywheel.tasks.export._select import Candidate, Window
from flywheel.tasks.export._text import exact_key, normalize, normalized_messages_key
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


def export_preferences(
    settings: Settings, out: str | Path, window: Window | None = None
) -> dict[str, Any]:
    """Write preferences.jsonl and manifest.json into ``out``; returns the summary."""
    start = start_training_export(settings, out, window, LAYOUT, include_rated=False)
    window, out_dir, tools, drops = start.window, start.out_dir, start.tools, start.drops
    dedup = Deduplicator()
    redactions: Counter[str] = Counter()
    kept: list[tuple[Candidate, dict[str, Any], ExampleReport]] = []
    for candidate in start.candidates:
        if not candidate.output:
            drops.add("no_original_output")
            continue
        tally: dict[str, int] = {}
        messages = redact_messages(candidate.messages or [], tools, tally)
        preferred = tools.redactor.redact(candidate.target, tally)
        rejected = tools.redactor.redact(candidate.output, tally)
        if normalize(preferred) == normalize(rejected):
            drops.add("equal_after_normalization")
            continue
        report = _check_pair(tools, messages, preferred, rejected)
        if not report.valid:
            count_invalid(drops, report)
            continue
        record = {
            "input": {"messages": messages},
            "preferred_output": [{"role": "assistant", "content": preferred}],
            "non_preferred_output": [{"role": "assistant", "content": rejected}],
        }
        normalized = normalized_messages_key(
            [*messages, {"role": "assistant", "content": preferred},
             {"role": "assistant", "content": rejected}])
        duplicate = dedup.duplicate_of(exact_key(record), normalized)
        if duplicate:
            drops.add("duplicate", duplicate)
            continue
        leak = tools.guard.check(user_texts(candidate, messages, tools))
        if leak:
            drops.add("in_evalset", leak.kind)
            drops.evalset_cases.add(leak.case)
            continue
        kept.append((candidate, record, report))
        redactions.update(tally)

    stats = summarize([r for *_, r in kept], tools.validator.token_limit)
    manifest = {
        "kind": "preferences",
        "format": "openai-preference-fine-tuning",
        "examples": len(kept),
        "candidates": start.candidates_seen,
        "date_range": date_range(c.feedback_ts for c, *_ in kept),
        "request_date_range": date_range(c.request_ts for c, *_ in kept),
        "prompt_versions": prompt_versions((c.prompt_name, c.prompt_hash) for c, *_ in kept),
        "filters": tools.filters(settings, window.describe()),
        "dropped": drops.to_dict(),
        "dropped_total": drops.total,
        "evalset_cases_matched": sorted(drops.evalset_cases),
        "redactions": dict(sorted(redactions.items())),
        "warnings": stats["warnings"],
        "distributions": stats["distributions"],
    }
    manifest = write_export(out_dir, {PREFERENCES: [r for _, r, _ in kept]}, manifest)
    ledger = record_run(settings, "preferences", out_dir, manifest, drops.total)
    return summary_of("preferences", out_dir, manifest, ledger)
