"""``export finetune``: corrected requests → OpenAI chat fine-tuning JSONL (docs/contracts.md, "Exports").

Per candidate, in order: rebuild the messages (dropped if impossible), append the correction as
the assistant message, redact every content, validate (invalid and too-long dropped), drop
exact and normalized duplicates (the oldest is kept), drop eval-set cases; then split by the
hash of the example into train.jsonl / validation.jsonl and write manifest.json last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect
from flywheel.tasks.export._common import (
    TRAINING_DROPS,
    Deduplicator,
    Drops,
    Tools,
    date_range,
    output_dir,
    prompt_versions,
)
from flywheel.tasks.export._output import record_run, write_export
from flywheel.tasks.export._select import Candidate, Window, training_candidates
from flywheel.tasks.export._text import bucket, exact_key, normalized_messages_key, vars_text
from flywheel.tasks.export._validate import ExampleReport, summarize

TRAIN, VALIDATION = "train.jsonl", "validation.jsonl"
LAYOUT = TRAINING_DROPS


def user_texts(candidate: Candidate, messages: list[dict[str, Any]], tools: Tools) -> list[str]:
    """What the leakage guard compares: the last user message and the logged input's text."""
    texts = [m["content"] for m in messages if m.get("role") == "user"][-1:]
    if candidate.input:
        texts.append(tools.redactor.redact(vars_text(candidate.input)))
    return texts


def redact_messages(
    messages: list[dict[str, Any]], tools: Tools, tally: dict[str, int]
) -> list[dict[str, Any]]:
    """The messages with every string content redacted (other keys kept for the validator)."""
    return [
        {**m, "content": tools.redactor.redact(m["content"], tally)}
        if isinstance(m, dict) and isinstance(m.get("content"), str) else m
        for m in messages
    ]


def count_invalid(drops: Drops, report: ExampleReport) -> None:
    """An example whose only error is its length is ``too_long``; others are ``invalid``."""
    if report.errors == ["too_long"]:
        drops.add("too_long")
    else:
        drops.add("invalid", *[e for e in report.errors if e != "too_long"])


@dataclass
class TrainingStart:
    """What the fine-tuning and preference exports start from."""

    window: Window
    out_dir: Path
    tools: Tools
    candidates: list[Candidate]
    drops: Drops  # with the candidates that could not be rebuilt already counted
    candidates_seen: int  # rebuilt or not


def start_training_export(
    settings: Settings, out: str | Path, window: Window | None,
    layout: Mapping[str, tuple[str, ...] | None], *, include_rated: bool,
) -> TrainingStart:
    """The window, the output folder, the tools, the corrected candidates, and the drops with
    those that cannot be rebuilt (shared by the fine-tuning and preference exports)."""
    window = window or Window()
    out_dir = output_dir(out)
    tools = Tools.from_settings(settings)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        candidates, not_rebuildable = training_candidates(con, window, include_rated=include_rated)
    drops = Drops(layout)
    for reason, n in sorted(not_rebuildable.items()):
        drops.add("not_rebuildable", reason, n=n)
    return TrainingStart(window, out_dir, tools, candidates, drops,
                         len(candidates) + sum(not_rebuildable.values()))


def export_finetune(
    settings: Settings, out: str | Path, window: Window | None = None
) -> dict[str, Any]:
    """Write train.jsonl, validation.jsonl and manifest.json into ``out``; returns the summary."""
    start = start_training_export(settings, out, window, LAYOUT,
                                  include_rated=settings.export.include_rated)
    window, out_dir, tools, drops = start.window, start.out_dir, start.tools, start.drops
    dedup = Deduplicator()
    redactions: Counter[str] = Counter()  # in the examples written
    kept: list[tuple[Candidate, dict[str, Any], str, ExampleReport]] = []
    for candidate in start.candidates:
        tally: dict[str, int] = {}
        messages = redact_messages(candidate.messages or [], tools, tally)
        messages.append({"role": "assistant",
                         "content": tools.redactor.redact(candidate.target, tally)})
        example = {"messages": messages}
        report = tools.validator.check(example)
        if not report.valid:
            count_invalid(drops, report)
            continue
        key = exact_key(example)
        duplicate = dedup.duplicate_of(key, normalized_messages_key(messages))
        if duplicate:
            drops.add("duplicate", duplicate)
            continue
        leak = tools.guard.check(user_texts(candidate, messages, tools))
        if leak:
            drops.add("in_evalset", leak.kind)
            drops.evalset_cases.add(leak.case)
            continue
        kept.append((candidate, example, key, report))
        redactions.update(tally)

    share = settings.export.validation_share
    files: dict[str, list[dict[str, Any]]] = {TRAIN: [], VALIDATION: []}
    for _, example, key, _ in kept:
        files[VALIDATION if bucket(key) < share else TRAIN].append(example)
    reports = [r for *_, r in kept]
    stats = summarize(reports, tools.validator.token_limit)
    manifest = {
        "kind": "finetune",
        "format": "openai-chat-fine-tuning",
        "examples": len(kept),
        "candidates": start.candidates_seen,
        "sources": dict(sorted(Counter(c.source for c, *_ in kept).items())),
        "date_range": date_range(c.feedback_ts for c, *_ in kept),
        "request_date_range": date_range(c.request_ts for c, *_ in kept),
        "prompt_versions": prompt_versions((c.prompt_name, c.prompt_hash) for c, *_ in kept),
        "filters": {**tools.filters(settings, window.describe()),
                    "include_rated": settings.export.include_rated,
                    "validation_share": share},
        "dropped": drops.to_dict(),
        "dropped_total": drops.total,
        "evalset_cases_matched": sorted(drops.evalset_cases),
        "redactions": dict(sorted(redactions.items())),
        "warnings": stats["warnings"],
        "distributions": stats["distributions"],
        "training_tokens": stats["training_tokens"],
    }
    manifest = write_export(out_dir, files, manifest)
    ledger = record_run(settings, "finetune", out_dir, manifest, drops.total)
    return summary_of("finetune", out_dir, manifest, ledger)


def summary_of(
    kind: str, out_dir: Path, manifest: dict[str, Any], ledger: dict[str, Any]
) -> dict[str, Any]:
    """What the command prints and the flow publishes: counts, drops, files, ledger."""
    return {
        "kind": kind,
        "out_dir": str(out_dir),
        "examples": manifest["examples"],
        "candidates": manifest["candidates"],
        "files": {name: {"lines": f["lines"], "sha256": f["sha256"]}
                  for name, f in manifest["files"].items()},
        "dropped": manifest["dropped"],
        "dropped_total": manifest["dropped_total"],
        "manifest": str(out_dir / "manifest.json"),
        **ledger,
    }
