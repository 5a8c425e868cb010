"""What the fine-tuning and preference exports share: corrected candidates in, each made into a
record (by the export's own builder), then exact and normalized duplicates and eval-set cases
dropped, and the manifest fields both report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect
from flywheel.tasks.export._common import (
    Deduplicator,
    Drops,
    ExportRun,
    Tools,
    date_range,
    prompt_versions,
)
from flywheel.tasks.export._select import Candidate, Window, training_candidates
from flywheel.tasks.export._text import exact_key, vars_text
from flywheel.tasks.export._validate import ExampleReport


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


@dataclass(frozen=True)
class TrainingStart:
    """What the fine-tuning and preference exports start from."""

    run: ExportRun  # its drops count the candidates that could not be rebuilt already
    candidates: list[Candidate]
    candidates_seen: int  # rebuilt or not, repeats included


def start_training_export(
    settings: Settings, out: str | Path, window: Window | None,
    layout: Mapping[str, tuple[str, ...] | None], *, include_rated: bool, kind: str,
    night: date | None = None, tools: Tools | None = None,
) -> TrainingStart:
    """The export run, the corrected candidates, and the drops with those that cannot be
    rebuilt (shared by the fine-tuning and preference exports); ``night``: a night's part."""
    export = ExportRun.begin(settings, out, window, layout, night=night, kind=kind, tools=tools)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        candidates, not_rebuildable = training_candidates(
            con, export.window, include_rated=include_rated)
    for reason, n in sorted(not_rebuildable.items()):
        export.drops.add("not_rebuildable", reason, n=n)
    return TrainingStart(export, candidates, sum(c.repeats + 1 for c in candidates)
                         + sum(not_rebuildable.values()))


@dataclass(frozen=True)
class Built:
    """One candidate made into a valid record, before dedup and the leakage guard."""

    record: dict[str, Any]  # the line to write
    messages: list[dict[str, Any]]  # its redacted chat messages (the user's are guarded)
    normalized_key: str  # what a normalized duplicate shares
    report: ExampleReport
    tally: dict[str, int]  # redactions made in it


@dataclass(frozen=True)
class Kept:
    """A record that will be written and the candidate it came from."""

    candidate: Candidate
    record: dict[str, Any]
    key: str  # its exact key
    report: ExampleReport
    normalized_key: str = ""


def part_keys(kept: list[Kept]) -> dict[str, list[str]]:
    """The dedup keys a night's part records for what it wrote."""
    return {"exact": [k.key for k in kept], "normalized": [k.normalized_key for k in kept]}


# Makes a candidate into a record, or counts why not in the run's drops and returns None.
Builder = Callable[[Candidate, ExportRun], Built | None]


def _keep(export: ExportRun, dedup: Deduplicator, candidate: Candidate, built: Built) -> Kept | None:
    """The record if it is kept; else None, its drop counted. The candidate's repeats make the
    same record: duplicates of it when it passed the dedup, else dropped for the same reason."""
    key = exact_key(built.record)
    duplicate = dedup.duplicate_of(key, built.normalized_key)
    if duplicate:
        export.drops.add("duplicate", duplicate, n=candidate.repeats + 1)
        return None
    if candidate.repeats:
        export.drops.add("duplicate", "exact", n=candidate.repeats)
    if export.leaked("in_evalset", user_texts(candidate, built.messages, export.tools)):
        return None
    return Kept(candidate, built.record, key, built.report, built.normalized_key)


def keep_training_examples(start: TrainingStart, build: Builder) -> tuple[list[Kept], Counter[str]]:
    """The records to write (duplicates, examples an earlier night's part wrote and eval-set
    cases dropped, the oldest duplicate kept) and the redactions made in them."""
    export = start.run
    dedup = Deduplicator(export.earlier)
    kept: list[Kept] = []
    redactions: Counter[str] = Counter()
    for candidate in start.candidates:
        export.drops.last = None
        built = build(candidate, export)
        if built is None:  # dropped by the builder: its repeats for the same reason
            if candidate.repeats and export.drops.last is not None:
                category, reasons = export.drops.last
                export.drops.add(category, *reasons, n=candidate.repeats)
            continue
        example = _keep(export, dedup, candidate, built)
        if example is not None:
            kept.append(example)
            redactions.update(built.tally)
    return kept, redactions


def training_manifest(
    start: TrainingStart, kept: list[Kept], redactions: Mapping[str, int],
    stats: Mapping[str, Any], **fields: Any,
) -> dict[str, Any]:
    """The manifest fields both training exports write, then ``fields`` (kind, format …)."""
    return {
        **fields,
        "examples": len(kept),
        "candidates": start.candidates_seen,
        "date_range": date_range(k.candidate.feedback_ts for k in kept),
        "request_date_range": date_range(k.candidate.request_ts for k in kept),
        "prompt_versions": prompt_versions(
            (k.candidate.prompt_name, k.candidate.prompt_hash) for k in kept),
        **start.run.accounting(redactions),
        "warnings": stats["warnings"],
        "distributions": stats["distributions"],
    }
