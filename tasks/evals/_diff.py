"""What changed between two eval runs, per case and prompt version: pass ↔ fail, score
deltas, output diffs, cases added or removed, grouped by tag (``flywheel eval diff``).

Versions are matched by prompt hash (the same version in both runs); a version in only one run
is listed apart. Outputs are the first repeat's.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import duckdb

from flywheel.tasks.db import fetch_dicts
from flywheel.tasks.errors import UsageError
from flywheel.tasks.evals._compare import CaseOutcome, case_outcomes

SCORE_EPSILON = 1e-9
DIFF_LINES = 40


def _status(o: CaseOutcome | None) -> str:
    if o is None:
        return "absent"
    if o.passed is None:
        return "error"
    return "pass" if o.passed else "fail"


def _output_diff(a: str | None, b: str | None) -> str:
    lines = list(difflib.unified_diff((a or "").splitlines(), (b or "").splitlines(),
                                      "run_a", "run_b", lineterm="", n=1))
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"… {len(lines) - DIFF_LINES} more lines"]
    return "\n".join(lines)


def case_change(a: CaseOutcome | None, b: CaseOutcome | None) -> dict[str, Any] | None:
    """How one version's outcome on one case changed, or None when nothing did."""
    before, after = _status(a), _status(b)
    score_a = a.score if a else None
    score_b = b.score if b else None
    delta = None if score_a is None or score_b is None else score_b - score_a
    output_changed = a is not None and b is not None and (a.output or "") != (b.output or "")
    shares_changed = a is not None and b is not None and (a.passes, a.scored) != (b.passes,
                                                                                  b.scored)
    if before == after and not output_changed and not shares_changed and \
            (delta is None or abs(delta) <= SCORE_EPSILON):
        return None
    kind = {("pass", "fail"): "regression", ("fail", "pass"): "improvement",
            ("absent", before): "removed"}.get((before, after))
    if kind is None:
        kind = ("added" if before == "absent" else "removed" if after == "absent" else
                "status" if before != after else "changed")
    some = b or a
    return {
        "case_id": some.case_id if some else "", "tags": list(some.tags) if some else [],
        "change": kind, "before": before, "after": after,
        "score_before": score_a, "score_after": score_b,
        "score_delta": None if delta is None else round(delta, 6),
        "passes_before": f"{a.passes}/{a.scored}" if a else None,
        "passes_after": f"{b.passes}/{b.scored}" if b else None,
        "output_changed": output_changed,
        "output_diff": _output_diff(a.output, b.output) if output_changed and a and b else "",
        "output_before": a.output if a else None, "output_after": b.output if b else None,
    }


def _run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    rows = fetch_dicts(con, "evals/run_get", {"run_id": run_id})
    if not rows:
        raise UsageError(f"no eval run {run_id!r} (see eval_runs, or `flywheel eval run --json`)")
    return rows[0]


def diff_runs(con: duckdb.DuckDBPyConnection, run_a: str, run_b: str) -> dict[str, Any]:
    """Per version present in both runs, every case whose outcome, score or output changed,
    and the same grouped by tag; what ``flywheel eval diff --json`` prints."""
    meta_a, meta_b = _run(con, run_a), _run(con, run_b)
    versions_a = {v["hash"]: v for v in json.loads(meta_a["versions"])}
    versions_b = {v["hash"]: v for v in json.loads(meta_b["versions"])}
    outcomes_a, outcomes_b = case_outcomes(con, run_a), case_outcomes(con, run_b)
    out_versions = []
    for hash_ in [h for h in versions_a if h in versions_b]:
        a, b = outcomes_a.get(hash_, {}), outcomes_b.get(hash_, {})
        changes = [c for cid in sorted(a.keys() | b.keys())
                   if (c := case_change(a.get(cid), b.get(cid))) is not None]
        by_tag: dict[str, list[str]] = {}
        for change in changes:
            for tag in change["tags"] or ["(untagged)"]:
                by_tag.setdefault(tag, []).append(change["case_id"])
        counts: dict[str, int] = {}
        for change in changes:
            counts[change["change"]] = counts.get(change["change"], 0) + 1
        out_versions.append({
            "hash": hash_, "short": hash_[:12],
            "ref_a": versions_a[hash_].get("ref"), "ref_b": versions_b[hash_].get("ref"),
            "cases_a": len(a), "cases_b": len(b), "changed": len(changes), "counts": counts,
            "by_tag": [{"tag": t, "cases": ids} for t, ids in sorted(by_tag.items())],
            "changes": changes,
        })
    return {
        "run_a": run_a, "run_b": run_b,
        "evalset_a": {"name": meta_a["evalset_name"], "hash": meta_a["evalset_hash"]},
        "evalset_b": {"name": meta_b["evalset_name"], "hash": meta_b["evalset_hash"]},
        "same_evalset": meta_a["evalset_hash"] == meta_b["evalset_hash"],
        "versions": out_versions,
        "only_in_a": sorted(v.get("ref") or h for h, v in versions_a.items()
                            if h not in versions_b),
        "only_in_b": sorted(v.get("ref") or h for h, v in versions_b.items()
                            if h not in versions_a),
    }


def format_diff(result: dict[str, Any]) -> str:
    """The diff as Markdown (model outputs inside fences, names escaped)."""
    from flywheel.tasks.reports import md, md_fence

    lines = [f"# Eval diff {md(result['run_a'])} → {md(result['run_b'])}", ""]
    if not result["same_evalset"]:
        lines += [f"The eval set changed: {md(result['evalset_a']['hash'][:12])} → "
                  f"{md(result['evalset_b']['hash'][:12])}.", ""]
    for side in ("only_in_a", "only_in_b"):
        if result[side]:
            lines.append(f"Versions {side.replace('_', ' ')}: "
                         + ", ".join(md(r) for r in result[side]))
    for v in result["versions"]:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(v["counts"].items())) or "no change"
        lines += ["", f"## {md(v['ref_b'] or v['hash'][:12])}: {v['changed']} changed "
                  f"({counts})", ""]
        for group in v["by_tag"]:
            lines.append(f"- tag {md(group['tag'])}: " + ", ".join(md(c) for c in group["cases"]))
        for c in v["changes"]:
            delta = "" if c["score_delta"] is None else f", score {c['score_delta']:+.3f}"
            lines += ["", f"### {md(c['case_id'])}: {c['change']} ({c['before']} → "
                      f"{c['after']}{delta})"]
            if c["output_diff"]:
                lines += ["", md_fence(c["output_diff"], "diff")]
    return "\n".join(lines) + "\n"
