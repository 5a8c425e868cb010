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
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, fetch_dicts, run
from flywheel.tasks.export._common import ExportRun, Tools, date_range
from flywheel.tasks.export._select import Window, read_bounds
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


@dataclass
class _Prompt:
    """One prompt's cases so far and its counts."""

    cases: dict[str, HardCase] = field(default_factory=dict)
    candidates: int = 0
    over_cap: int = 0


def _add_case(export: ExportRun, stratum: _Prompt, row: dict[str, Any],
              earlier: frozenset[str]) -> tuple[str, HardCase, dict[str, int]] | None:
    """The row as a case and its redactions, or None when it is counted as dropped: in an eval
    set, a case an earlier night exported, or a duplicate of a stronger case of this run (the
    rows come strongest first, so the first of a key stands for the later ones)."""
    repeats = int(row["repeats"])
    tally: dict[str, int] = {}
    key, case = _hard_case(row, json.loads(row["input"]), export.tools.redactor, tally)
    if export.leaked("already_in_evalset", [vars_text(case.vars)], n=repeats + 1):
        return None
    if repeats:  # the same prompt and input as this row: merged into it in SQL
        export.drops.add("duplicate", n=repeats)
        case.duplicates = repeats
    previous = stratum.cases.get(key)
    if key in earlier or previous is not None:
        export.drops.add("duplicate")
        if previous is not None:
            previous.duplicates += 1 + repeats
        return None
    return key, case, tally


def _distinct_cases(
    rows: list[dict[str, Any]], export: ExportRun, cap: int, earlier: frozenset[str]
) -> tuple[dict[str, _Prompt], Counter[str]]:
    """Per prompt, up to ``cap`` distinct cases (rows without input, in an eval set or already
    exported dropped; rows past the cap counted without being looked at), and the redactions
    made in the cases kept."""
    redactions: Counter[str] = Counter()
    strata: dict[str, _Prompt] = defaultdict(_Prompt)
    for row in rows:
        n = int(row["repeats"]) + 1
        if not row["has_input"]:
            export.drops.add("no_input", n=n)
            continue
        stratum = strata[row["prompt_name"]]
        stratum.candidates += n
        if len(stratum.cases) >= cap:
            stratum.over_cap += n
            export.drops.add("over_cap_per_prompt", n=n)
            continue
        added = _add_case(export, stratum, row, earlier)
        if added is not None:
            key, case, tally = added
            stratum.cases[key] = case
            redactions.update(tally)
    return strata, redactions


def _chosen(strata: dict[str, _Prompt]) -> tuple[list[HardCase], dict[str, dict[str, int]]]:
    """The cases of every prompt (prompts in name order; strongest then most recent first)
    and the counts per prompt."""
    chosen: list[HardCase] = []
    counts: dict[str, dict[str, int]] = {}
    for prompt in sorted(strata):
        stratum = strata[prompt]
        chosen += sorted(stratum.cases.values(),
                         key=lambda c: (-c.strength, -c.signal_ts.timestamp(), c.id))
        counts[prompt] = {"candidates": stratum.candidates, "written": len(stratum.cases),
                          "over_cap": stratum.over_cap}
    return chosen, counts


def export_hard_examples(
    settings: Settings, out: str | Path, window: Window | None = None, *,
    night: date | None = None, tools: Tools | None = None,
) -> dict[str, Any]:
    """Write hard_examples.jsonl, provenance.jsonl and manifest.json; returns the summary.
    ``night``: the export is that night's part (cases an earlier night's part wrote are
    dropped as duplicates; its case keys are recorded)."""
    export = ExportRun.begin(settings, out, window, LAYOUT, night=night, kind="hard-examples",
                             tools=tools)
    cap = settings.export.hard_examples_per_prompt
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        run(con, "export/macros")
        rows = fetch_dicts(con, "export/hard_candidates",
                           {**read_bounds(con, export.window), "unknown_prompt": UNKNOWN_PROMPT})
    strata_, redactions = _distinct_cases(rows, export, cap, export.earlier.get("case", frozenset()))
    chosen, strata = _chosen(strata_)
    manifest = {
        "kind": "hard-examples",
        "format": "flywheel-evalset-candidates",
        "examples": len(chosen),
        "candidates": sum(int(r["repeats"]) + 1 for r in rows),
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
    return export.finish("hard-examples", files, manifest,
                         {"case": [exact_key([c.prompt, normalize(vars_text(c.vars))])
                                   for c in chosen]})
