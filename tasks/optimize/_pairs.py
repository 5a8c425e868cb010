"""The corrected pairs a proposal is built from.

SQL (``sql/optimize/corrected_pairs.sql``) does the ranking and the cap: one row per distinct
input (normalized), the inputs that fail most first, the correction given most often. Here each
pair is redacted (tasks/redact.py), checked against the eval sets with the exports' leakage guard
(the same :class:`LeakageGuard`, same texts: the logged input's text and the rendered user
message) and kept only if it is not a near-duplicate of a pair already chosen (diversity).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
from rapidfuzz import fuzz

from flywheel.tasks.config import Settings
from flywheel.tasks.db import fetch_dicts
from flywheel.tasks.errors import UsageError
from flywheel.tasks.export import LeakageGuard, normalize, read_eval_cases, vars_text
from flywheel.tasks.redact import Redactor
from flywheel.tasks.registry import render_messages

POOL_FACTOR = 10  # rows SQL hands over per pair wanted (room for leaks and near-duplicates)


@dataclass(frozen=True)
class Pair:
    """One input with its correction (both redacted), and where it came from."""

    variables: dict[str, Any]
    user_message: str  # the input rendered with the parent's template
    output: str | None  # what the application answered (redacted)
    corrected: str
    failures: int
    feedback_ids: tuple[str, ...]
    days: tuple[str, ...]


@dataclass
class Curation:
    """The chosen pairs and what was kept out, with the reason."""

    pairs: list[Pair] = field(default_factory=list)
    excluded_leaks: list[dict[str, Any]] = field(default_factory=list)  # case, kind, score
    near_duplicates: int = 0
    unusable: int = 0  # inputs the parent's template cannot render
    redactions: dict[str, int] = field(default_factory=dict)
    candidates_seen: int = 0


def _render_user(parent: Mapping[str, Any], variables: Mapping[str, Any]) -> str | None:
    try:
        messages = render_messages(parent, variables)
    except UsageError:
        return None
    return messages[-1]["content"]


def curate_pairs(
    con: duckdb.DuckDBPyConnection, settings: Settings, name: str, parent: Mapping[str, Any],
    until: datetime, limit: int, *, guard_leaks: bool = True,
) -> Curation:
    """Up to ``limit`` corrected pairs of prompt ``name`` given before ``until``, most-failing
    first; with ``guard_leaks`` none is within leakage distance of an eval-set case."""
    redactor = Redactor(settings.redact.types, settings.redact.allow)
    guard = LeakageGuard(read_eval_cases(settings.dir("evalsets")), redactor,
                         settings.export.leakage_threshold)
    rows = fetch_dicts(con, "optimize/corrected_pairs",
                       {"name": name, "until": until, "pool": max(1, limit) * POOL_FACTOR})
    out = Curation(candidates_seen=len(rows))
    chosen_keys: list[str] = []
    for row in rows:
        if len(out.pairs) >= limit:
            break
        raw = json.loads(row["input"])
        variables = redactor.redact_value(raw, out.redactions) if isinstance(raw, dict) else {}
        user = _render_user(parent, variables) if variables else None
        if user is None:
            out.unusable += 1
            continue
        text = vars_text(variables)
        leak = guard.check([text, user]) if guard_leaks else None
        if leak is not None:
            out.excluded_leaks.append({"case": leak.case, "kind": leak.kind,
                                       "score": round(leak.score, 1), "input": text})
            continue
        key = normalize(text)
        if any(fuzz.ratio(key, k) >= guard.threshold for k in chosen_keys):
            out.near_duplicates += 1
            continue
        chosen_keys.append(key)
        out.pairs.append(Pair(
            variables=variables, user_message=user,
            output=redactor.redact(row["output"], out.redactions) if row["output"] else None,
            corrected=redactor.redact(row["corrected"], out.redactions),
            failures=int(row["failures"]), feedback_ids=tuple(row["feedback_ids"]),
            days=tuple(str(d) for d in row["days"])))
    return out
