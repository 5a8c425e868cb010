"""``export hard-examples``: requests users disliked or corrected → candidate eval cases (docs/contracts.md, "Eval sets").

A request qualifies with a thumbs-down, a rating <= 2 or a correction. Its logged ``input``
becomes the case's ``vars`` and its latest correction the ``reference``; everything is redacted.
Candidates with the same prompt and the same normalized vars are one case (the strongest signal
wins: corrected > low rating > thumbs-down, then the most recent). A case already in an eval set
is dropped. Per prompt at most ``hard_examples_per_prompt`` cases are kept, strongest first.

Files: ``hard_examples.jsonl`` (strict "Eval sets" lines, ready to be appended to an eval set),
``provenance.jsonl`` (per case id: request, signals, the redacted original output) and
``manifest.json``. The review flow is in docs/exports.md.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, fetch_dicts, run
from flywheel.tasks.export._common import Drops, ExportRun, date_range
from flywheel.tasks.export._select import Window
from flywheel.tasks.export._text import exact_key, normalize, vars_text
from flywheel.tasks.redact import Redactor

HARD_EXAMPLES, PROVENANCE = "hard_examples.jsonl", "provenance.jsonl"
SIMILAR_THRESHOLD = 0.8  # the `similar` assertion proposed for a case with a reference
UNKNOWN_PROMPT = "(no prompt name)"
LAYOUT: dict[str, tuple[str, ...] | None] = {
    "no_input": None, "duplicate": None, "already_in_evalset": ("exact", "near"),
    "over_cap_per_prompt": None,
}


@dataclass
class HardCase:
    """One candidate eval case and where it came from."""

    id: str
    prompt: str
    vars: dict[str, Any]
    reference: str | None
    signals: list[str]
    strength: int
    signal_ts: datetime
    request_id: str
    request_ts: datetime
    prompt_hash: str | None
    output: str | None
    duplicates: int = 0

    def item(self) -> dict[str, Any]:
        """The eval-set line ("Eval sets")."""
        record: dict[str, Any] = {"id": self.id, "vars": self.vars}
        if self.reference is not None:
            record["reference"] = self.reference
        record["assert"] = (
            [{"type": "similar", "threshold": SIMILAR_THRESHOLD}] if self.reference is not None
            else []
        )
        record["tags"] = ["hard-example", f"prompt:{self.prompt}", *self.signals]
        return record

    def provenance(self) -> dict[str, Any]:
        """Where the case came from, for the reviewer."""
        return {"id": self.id, "request_id": self.request_id, "prompt_name": self.prompt,
                "prompt_hash": self.prompt_hash, "signals": self.signals,
                "original_output": self.output, "request_ts": self.request_ts.isoformat(),
                "signal_ts": self.signal_ts.isoformat(), "duplicates_merged": self.duplicates}


def _signals(row: dict[str, Any]) -> tuple[list[str], int]:
    signals, strength = [], 0
    if row["correction"] is not None:
        signals.append("corrected")
        strength = max(strength, 3)
    if row["min_rating"] is not None and row["min_rating"] <= 2:
        signals.append("low-rating")
        strength = max(strength, 2)
    if row["thumbs_down"]:
        signals.append("thumbs-down")
        strength = max(strength, 1)
    return signals, strength


def _hard_case(
    row: dict[str, Any], variables: dict[str, Any], redactor: Redactor, tally: dict[str, int]
) -> tuple[str, HardCase]:
    """A candidate row as a redacted case, and its key: the prompt and the normalized vars."""
    redacted = redactor.redact_value(variables, tally)
    prompt = row["prompt_name"] or UNKNOWN_PROMPT
    key = exact_key([prompt, normalize(vars_text(redacted))])
    signals, strength = _signals(row)
    return key, HardCase(
        id=f"hard-{key[:12]}", prompt=prompt, vars=redacted,
        reference=(redactor.redact(row["correction"], tally)
                   if row["correction"] is not None else None),
        signals=signals, strength=strength, signal_ts=row["signal_ts"],
        request_id=row["request_id"], request_ts=row["request_ts"],
        prompt_hash=row["version_hash"] or row["prompt_hash"],
        output=redactor.redact(row["output"], tally) if row["output"] else None,
    )


def _merge(by_key: dict[str, HardCase], key: str, case: HardCase, drops: Drops) -> bool:
    """Add ``case`` under ``key``; True when it is the first of its key. A duplicate is
    counted, and the stronger (on a tie, the later) of the two stands for both."""
    previous = by_key.get(key)
    if previous is None:
        by_key[key] = case
        return True
    drops.add("duplicate")
    # Rows arrive oldest first, so a later row of equal strength is the more recent one.
    if case.strength >= previous.strength:
        case.duplicates = previous.duplicates + 1
        by_key[key] = case
    else:
        previous.duplicates += 1
    return False


def _distinct_cases(
    rows: list[dict[str, Any]], export: ExportRun
) -> tuple[list[HardCase], Counter[str]]:
    """One case per key (those without input or already in an eval set dropped), and the
    redactions made in the first row of each."""
    redactions: Counter[str] = Counter()
    by_key: dict[str, HardCase] = {}
    for row in rows:
        variables = json.loads(row["input"]) if row["input"] is not None else None
        if not isinstance(variables, dict) or not variables:
            export.drops.add("no_input")
            continue
        tally: dict[str, int] = {}
        key, case = _hard_case(row, variables, export.tools.redactor, tally)
        if export.leaked("already_in_evalset", [vars_text(case.vars)]):
            continue
        if _merge(by_key, key, case, export.drops):
            redactions.update(tally)
    return list(by_key.values()), redactions


def _cap_per_prompt(
    cases: list[HardCase], cap: int, drops: Drops
) -> tuple[list[HardCase], dict[str, dict[str, int]]]:
    """At most ``cap`` cases per prompt, strongest then most recent first; the counts per prompt."""
    per_prompt: dict[str, list[HardCase]] = defaultdict(list)
    for case in cases:
        per_prompt[case.prompt].append(case)
    chosen: list[HardCase] = []
    strata: dict[str, dict[str, int]] = {}
    for prompt in sorted(per_prompt):
        ranked = sorted(per_prompt[prompt],
                        key=lambda c: (-c.strength, -c.signal_ts.timestamp(), c.id))
        chosen += ranked[:cap]
        over = max(0, len(ranked) - cap)
        if over:
            drops.add("over_cap_per_prompt", n=over)
        strata[prompt] = {"candidates": len(ranked), "written": min(cap, len(ranked)),
                          "over_cap": over}
    return chosen, strata


def export_hard_examples(
    settings: Settings, out: str | Path, window: Window | None = None
) -> dict[str, Any]:
    """Write hard_examples.jsonl, provenance.jsonl and manifest.json; returns the summary."""
    export = ExportRun.begin(settings, out, window, LAYOUT)
    cap = settings.export.hard_examples_per_prompt
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        run(con, "export/macros")
        rows = fetch_dicts(con, "export/hard_candidates", export.window.params())
    cases, redactions = _distinct_cases(rows, export)
    chosen, strata = _cap_per_prompt(cases, cap, export.drops)
    manifest = {
        "kind": "hard-examples",
        "format": "flywheel-evalset-candidates",
        "examples": len(chosen),
        "candidates": len(rows),
        "per_prompt": strata,
        "signals": dict(sorted(Counter(s for c in chosen for s in c.signals).items())),
        "with_reference": sum(c.reference is not None for c in chosen),
        "date_range": date_range(c.signal_ts for c in chosen),
        "request_date_range": date_range(c.request_ts for c in chosen),
        "filters": export.filters(per_prompt_cap=cap),
        **export.accounting(redactions),
    }
    files = {HARD_EXAMPLES: [c.item() for c in chosen],
             PROVENANCE: [c.provenance() for c in chosen]}
    return export.finish("hard-examples", files, manifest)
