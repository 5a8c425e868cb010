"""The comparison of an eval run, from the per-case sufficient statistics DuckDB aggregates.

Per version: pass rate (a case passes when every scored repeat passes) with a Wilson interval,
mean score with a t interval, errors counted apart, per-case consistency over repeats. Per
candidate (every version after the first, the baseline): the paired difference on the cases
both scored, with a paired bootstrap interval, the exact McNemar test on pass/fail, the same
per tag, and the regressions and improvements with both outputs. Formulas: docs/evals.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from flywheel.tasks.db import fetch_dicts
from flywheel.tasks.evals._stats import (
    consistency,
    mcnemar_exact,
    mean_interval,
    paired_bootstrap,
    pass_hat_k,
    wilson_interval,
)

MAX_LISTED = 50  # regressions / improvements / flaky cases listed per comparison


@dataclass(frozen=True)
class CaseOutcome:
    """One version on one case, over its repeats."""

    case_id: str
    tags: tuple[str, ...]
    repeats: int
    scored: int
    passes: int
    passed: bool | None  # None: no repeat could be scored
    score: float | None
    output: str | None
    error: str | None

    @property
    def consistency(self) -> float:
        """Share of scored repeats agreeing with the majority outcome."""
        return consistency(self.passes, self.scored)

    @property
    def pass_share(self) -> float:
        """Share of scored repeats that pass (pass^1); 0 when none was scored."""
        return self.passes / self.scored if self.scored else 0.0

    @property
    def flaky(self) -> bool:
        """Some scored repeats pass and some fail."""
        return 0 < self.passes < self.scored


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def case_outcomes(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, CaseOutcome]]:
    """prompt hash → case id → outcome, from ``evals/case_outcomes``."""
    out: dict[str, dict[str, CaseOutcome]] = {}
    for row in fetch_dicts(con, "evals/case_outcomes", {"run_id": run_id}):
        scored = int(row["scored"])
        out.setdefault(row["prompt_hash"], {})[row["case_id"]] = CaseOutcome(
            case_id=row["case_id"], tags=tuple(row["tags"] or ()), repeats=int(row["repeats"]),
            scored=scored, passes=int(row["passes"]),
            passed=bool(row["passed_all"]) if scored else None,
            score=float(row["mean_score"]) if scored else None,
            output=row["output"], error=row["first_error"],
        )
    return out


def version_summary(outcomes: Mapping[str, CaseOutcome]) -> dict[str, Any]:
    """Pass rate and mean score (with intervals), errors and consistency of one version."""
    scored = [o for o in outcomes.values() if o.passed is not None]
    passes = sum(1 for o in scored if o.passed)
    scores = [o.score for o in scored if o.score is not None]
    low, high = wilson_interval(passes, len(scored))
    s_low, s_high = mean_interval(scores)
    flaky = sorted((o for o in scored if o.flaky), key=lambda o: (o.consistency, o.case_id))
    most = max((o.scored for o in scored), default=0)
    return {
        "cases": len(outcomes),
        "cases_scored": len(scored),
        "cases_errored": len(outcomes) - len(scored),
        "pass_rate": _finite(passes / len(scored)) if scored else None,
        "pass_rate_ci": [_finite(low), _finite(high)],
        "mean_score": _finite(sum(scores) / len(scores)) if scores else None,
        "mean_score_ci": [_finite(s_low), _finite(s_high)],
        "consistency": _finite(sum(o.consistency for o in scored) / len(scored))
        if scored else None,
        "flaky_count": len(flaky),
        "pass_hat_k": {str(k): _finite(_mean([pass_hat_k(o.passes, o.scored, k)
                                              for o in scored if o.scored >= k]))
                       for k in range(1, most + 1)},
        "flaky_cases": [{"case_id": o.case_id, "consistency": _finite(o.consistency),
                         "passes": o.passes, "scored": o.scored, "flaky": True,
                         "pass_hat_k": _finite(pass_hat_k(o.passes, o.scored, o.scored))}
                        for o in flaky[:MAX_LISTED]],
    }


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _paired(base: Sequence[CaseOutcome], cand: Sequence[CaseOutcome],
            confidence: float = 0.95) -> dict[str, Any]:
    base_pass = [float(bool(o.passed)) for o in base]
    cand_pass = [float(bool(o.passed)) for o in cand]
    # Pass, score and per-repeat pass-share differences, resampled together (the same bootstrap
    # draws of cases): a case's repeats are one cluster, drawn or left out as a whole.
    (pass_diff, pass_low, pass_high), (score_diff, score_low, score_high), \
        (share_diff, share_low, share_high) = paired_bootstrap(
            [base_pass, [o.score or 0.0 for o in base], [o.pass_share for o in base]],
            [cand_pass, [o.score or 0.0 for o in cand], [o.pass_share for o in cand]],
            confidence=confidence)
    regressions = sum(1 for b, c in zip(base, cand, strict=True) if b.passed and not c.passed)
    improvements = sum(1 for b, c in zip(base, cand, strict=True) if c.passed and not b.passed)
    n = len(base)
    return {
        "paired_cases": n,
        "baseline_pass_rate": _finite(sum(base_pass) / n) if n else None,
        "candidate_pass_rate": _finite(sum(cand_pass) / n) if n else None,
        "pass_rate_diff": _finite(pass_diff), "pass_rate_diff_ci": [_finite(pass_low),
                                                                    _finite(pass_high)],
        "mean_score_diff": _finite(score_diff),
        "mean_score_diff_ci": [_finite(score_low), _finite(score_high)],
        "baseline_pass_share": _finite(_mean([o.pass_share for o in base])),
        "candidate_pass_share": _finite(_mean([o.pass_share for o in cand])),
        "pass_share_diff": _finite(share_diff),
        "pass_share_diff_ci": [_finite(share_low), _finite(share_high)],
        "confidence": confidence,
        "mcnemar": {"regressions": regressions, "improvements": improvements,
                    "p_value": _finite(mcnemar_exact(regressions, improvements))},
    }


def _flip(base: CaseOutcome, cand: CaseOutcome) -> dict[str, Any]:
    return {"case_id": base.case_id, "tags": list(base.tags),
            "baseline_score": _finite(base.score), "candidate_score": _finite(cand.score),
            "baseline_passes": base.passes, "candidate_passes": cand.passes,
            "scored": [base.scored, cand.scored],
            "baseline_output": base.output, "candidate_output": cand.output}


def compare(baseline: Mapping[str, CaseOutcome], candidate: Mapping[str, CaseOutcome],
            confidence: float = 0.95) -> dict[str, Any]:
    """The paired comparison of a candidate with the baseline, overall and per tag (intervals
    at ``confidence``)."""
    both = sorted(
        cid for cid in baseline.keys() & candidate.keys()
        if baseline[cid].passed is not None and candidate[cid].passed is not None
    )
    base = [baseline[c] for c in both]
    cand = [candidate[c] for c in both]
    result = _paired(base, cand, confidence)
    result["unpaired_cases"] = len(baseline.keys() | candidate.keys()) - len(both)
    tags = sorted({t for o in base for t in o.tags})
    result["by_tag"] = [
        {"tag": tag, **_paired([b for b in base if tag in b.tags],
                               [c for b, c in zip(base, cand, strict=True) if tag in b.tags],
                               confidence)}
        for tag in tags
    ]
    result["regressions"] = [_flip(b, c) for b, c in zip(base, cand, strict=True)
                             if b.passed and not c.passed][:MAX_LISTED]
    result["improvements"] = [_flip(b, c) for b, c in zip(base, cand, strict=True)
                              if c.passed and not b.passed][:MAX_LISTED]
    return result


def summarize(con: duckdb.DuckDBPyConnection, run_id: str,
              versions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-version statistics and totals, and every candidate compared with the baseline
    (``versions[0]``)."""
    outcomes = case_outcomes(con, run_id)
    totals = {r["prompt_hash"]: r for r in fetch_dicts(con, "evals/version_totals",
                                                       {"run_id": run_id})}
    per_version = []
    for v in versions:
        t = totals.get(v["hash"], {})
        per_version.append({
            **dict(v), **version_summary(outcomes.get(v["hash"], {})),
            "api_errors": int(t.get("api_errors") or 0),
            "scorer_errors": int(t.get("scorer_errors") or 0),
            "prompt_tokens": int(t.get("prompt_tokens") or 0),
            "completion_tokens": int(t.get("completion_tokens") or 0),
            "judge_prompt_tokens": int(t.get("judge_prompt_tokens") or 0),
            "judge_completion_tokens": int(t.get("judge_completion_tokens") or 0),
            "cost_usd": _finite(t["cost_usd"]) if t.get("cost_usd") is not None else None,
            "unpriced_results": int(t.get("unpriced") or 0),
            "mean_latency_ms": _finite(t["mean_latency_ms"]) if t.get("mean_latency_ms") else None,
            "p95_latency_ms": _finite(t["p95_latency_ms"]) if t.get("p95_latency_ms") else None,
            "demo_model": bool(t.get("demo_model")),
        })
    baseline = versions[0]["hash"]
    comparisons = [
        {"baseline": versions[0]["ref"], "baseline_hash": baseline, "candidate": v["ref"],
         "candidate_hash": v["hash"],
         **compare(outcomes.get(baseline, {}), outcomes.get(v["hash"], {}))}
        for v in versions[1:]
    ]
    return {"versions": per_version, "comparisons": comparisons}
