"""Turning one experiment's aggregated statistics into its report: integrity checks, tests per
metric and treatment, multiple-testing adjustment, power and sample size, statuses.

Pure Python over a handful of numbers per arm (no I/O). The output is the shape of
``flywheel ab report --json`` for one experiment (docs/contracts.md, "Command line"), plus
extra keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flywheel.tasks.ab._aggregate import ArmData, ExperimentData
from flywheel.tasks.ab._bandit import Strata, allocation_section, stratified_checks, stratified_row
from flywheel.tasks.ab._experiments import Experiment, Guardrail
from flywheel.tasks.ab._metrics import METRICS, Metric
from flywheel.tasks.stats import (
    ZERO_CONTROL_MEAN,
    CupedRatioStats,
    QuantileStats,
    RatioStats,
    Stats,
    arm_moments,
    bayesian_test,
    benjamini_hochberg,
    frequentist_test,
    holm_bonferroni,
    minimum_detectable_effect,
    required_sample_size,
    sample_to_show_margin,
    srm_p_value,
)

COLLECTING, SIGNIFICANT, NOT_SIGNIFICANT, UNTRUSTWORTHY = (
    "collecting", "significant", "not significant", "untrustworthy")


@dataclass(frozen=True)
class Thresholds:
    """When an integrity check fails, and the power a decision needs."""

    srm_p_value: float = 0.001
    max_mismatch_share: float = 0.01
    max_multi_arm_share: float = 0.01
    target_power: float = 0.8

    def __post_init__(self) -> None:
        if not 0 < self.target_power < 1:
            raise ValueError(f"target power must be in (0, 1), not {self.target_power!r}")


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


# ---------------------------------------------------------------------------------- checks


def integrity_checks(data: ExperimentData, thresholds: Thresholds,
                     missing_versions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """SRM, assignment mismatch, users in several arms, arms without traffic, unknown arms, and
    variants whose prompt REF names no registered version (``missing_versions``: variant ->
    why; such an experiment cannot be served as its file says, so it is not trustworthy; None:
    not checked, ``versions_checked`` is false)."""
    exp = data.experiment
    observed = [data.arms[v].users for v in exp.variant_names]
    total_users = sum(observed)
    requests = sum(a.requests for a in data.arms.values())
    mismatched = sum(a.mismatched_requests for a in data.arms.values())
    srm = srm_p_value(observed, exp.weights) if total_users else None
    mismatch_share = mismatched / requests if requests else 0.0
    multi_share = data.multi_arm_users / data.users_seen if data.users_seen else 0.0
    empty = [v for v, n in zip(exp.variant_names, observed, strict=True) if n == 0]
    unknown = [v for v in data.arms if v not in exp.variants]
    failed = []
    if srm is not None and srm < thresholds.srm_p_value:
        failed.append("srm")
    if mismatch_share > thresholds.max_mismatch_share:
        failed.append("assignment_mismatch")
    if multi_share > thresholds.max_multi_arm_share:
        failed.append("multi_arm_users")
    if total_users and empty:
        failed.append("empty_arms")
    missing = [{"variant": v, "ref": exp.variants[v], "error": (missing_versions or {})[v]}
               for v in exp.variant_names if v in (missing_versions or {})]
    if missing:
        failed.append("missing_versions")
    return {
        "srm_p_value": srm,
        "assignment_mismatch_share": mismatch_share,
        "multi_arm_users": data.multi_arm_users,
        "multi_arm_share": multi_share,
        "empty_arms": empty if total_users else [],
        "unknown_arms": unknown,
        "missing_versions": missing,
        "versions_checked": missing_versions is not None,
        "mismatched_requests": mismatched,
        "failed": failed,
        "thresholds": {"srm_p_value": thresholds.srm_p_value,
                       "max_mismatch_share": thresholds.max_mismatch_share,
                       "max_multi_arm_share": thresholds.max_multi_arm_share},
    }


# ---------------------------------------------------------------------------------- stats


def _ratio_stats(sums: dict[str, float]) -> RatioStats:
    return RatioStats(int(sums["n"]), sums["m_sum"], sums["m_sum_squares"], sums["d_sum"],
                      sums["d_sum_squares"], sums["m_d"])


def _cuped_ratio_stats(sums: dict[str, float]) -> CupedRatioStats:
    return CupedRatioStats(
        int(sums["n"]), sums["m_sum"], sums["m_sum_squares"], sums["d_sum"],
        sums["d_sum_squares"], sums["mp_sum"], sums["mp_sum_squares"], sums["dp_sum"],
        sums["dp_sum_squares"], sums["m_d"], sums["m_mp"], sums["m_dp"], sums["d_mp"],
        sums["d_dp"], sums["mp_dp"])


def _quantile_stats(entry: dict[str, float]) -> QuantileStats | None:
    if "lower" not in entry:
        return None
    return QuantileStats(
        n=int(entry["n"]), nu=entry["nu"], quantile=entry["quantile"], lower=entry["lower"],
        upper=entry["upper"], n_star=int(entry["n_star"]),
        cluster_n=int(entry["clusters"]) if "clusters" in entry else None,
        cluster_ind_sum=entry.get("s_sum", 0.0),
        cluster_ind_sum_squares=entry.get("s_sum_squares", 0.0),
        cluster_count_sum=entry.get("n_sum", 0.0),
        cluster_count_sum_squares=entry.get("n_sum_squares", 0.0),
        cluster_ind_count_sum_product=entry.get("s_n", 0.0))


def _has_pre(sums: dict[str, float] | None) -> bool:
    return bool(sums) and sums["users_with_pre"] > 1 and sums["dp_sum"] > 0


def arm_stats(metric: Metric, control: ArmData, treatment: ArmData
              ) -> tuple[Stats, Stats] | str:
    """The statistics to compare for one metric (CUPED when both arms have pre-period data),
    or the reason there are none."""
    if metric.kind == "quantile":
        a = control.quantile.get(metric.name)
        b = treatment.quantile.get(metric.name)
        qa, qb = (_quantile_stats(a) if a else None), (_quantile_stats(b) if b else None)
        if qa is None or qb is None:
            return "fewer than 100 requests with a latency in an arm"
        return qa, qb
    a_sums, b_sums = control.ratio.get(metric.name), treatment.ratio.get(metric.name)
    if not a_sums or not b_sums:
        return "no users in an arm"
    if _has_pre(a_sums) and _has_pre(b_sums):
        return _cuped_ratio_stats(a_sums), _cuped_ratio_stats(b_sums)
    return _ratio_stats(a_sums), _ratio_stats(b_sums)


def compare_metric(exp: Experiment, metric: Metric, control: ArmData, treatment: ArmData
                   ) -> dict[str, Any]:
    """One row of the report: treatment vs control on one metric (before adjustment)."""
    row: dict[str, Any] = {
        "metric": metric.name, "variant": treatment.variant, "control": control.variant,
        "control_mean": None, "treatment_mean": None, "relative": True,
        "estimate": None, "ci_low": None, "ci_high": None, "se": None,
        "p_value": None, "p_value_adjusted": None, "chance_to_win": None,
        "risk_control": None, "risk_treatment": None, "status": COLLECTING,
        "direction": None, "lower_is_better": metric.lower_is_better,
        "control_n": control.users, "treatment_n": treatment.users,
        "sequential": exp.sequential, "cuped": False, "theta": None, "error": None,
    }
    stats = arm_stats(metric, control, treatment)
    if isinstance(stats, str):
        row["error"] = stats
        return row
    a, b = stats
    tuning = exp.sequential_tuning if exp.sequential else None
    freq = frequentist_test(a, b, relative=True, alpha=exp.alpha, sequential_tuning=tuning)
    if freq.error == ZERO_CONTROL_MEAN:  # 0% errors in the control: test the absolute change
        freq = frequentist_test(a, b, relative=False, alpha=exp.alpha, sequential_tuning=tuning)
        row["relative"] = False
    bayes = bayesian_test(a, b, relative=row["relative"], alpha=exp.alpha,
                          inverse=metric.lower_is_better)
    if metric.kind == "quantile":
        row["control_n"], row["treatment_n"] = a.n, b.n  # type: ignore[union-attr]
    row |= {"control_mean": freq.control_mean, "treatment_mean": freq.treatment_mean,
            "cuped": freq.theta is not None, "theta": freq.theta}
    if freq.error:
        row["error"] = freq.error
        return row
    better = (freq.estimate < 0) if metric.lower_is_better else (freq.estimate > 0)
    row |= {
        "estimate": freq.estimate, "ci_low": freq.ci_low, "ci_high": freq.ci_high,
        "se": freq.se, "p_value": freq.p_value,
        "chance_to_win": None if bayes.error else bayes.chance_to_win,
        "risk_control": None if bayes.error else bayes.risk_control,
        "risk_treatment": None if bayes.error else bayes.risk_treatment,
        "direction": "better" if better else "worse" if freq.estimate != 0 else None,
    }
    return row


def adjust(rows: list[dict[str, Any]], method: str) -> None:
    """Fill ``p_value_adjusted`` across all rows of one experiment (metrics × treatments)."""
    for row in rows:  # a NaN p-value (e.g. an undefined quantile) is that row's error
        p = row["p_value"]
        if p is not None and not (isinstance(p, float | int) and 0 <= p <= 1):
            row |= {"p_value": None, "error": row["error"] or f"p-value is not a number: {p!r}"}
    tested = [r for r in rows if r["p_value"] is not None]
    raw = [r["p_value"] for r in tested]
    if method == "holm":
        adjusted = holm_bonferroni(raw)
    elif method == "bh":
        adjusted = benjamini_hochberg(raw)
    else:
        adjusted = list(raw)
    for row, p in zip(tested, adjusted, strict=True):
        row["p_value_adjusted"] = p


# ---------------------------------------------------------------------------------- power


def sample_plan(data: ExperimentData, thresholds: Thresholds, clock: datetime | None
                ) -> dict[str, Any]:
    """Sample needed for the target power at the configured MDE on the primary metric (from
    the control arm's mean and variance so far), the sample so far, days remaining."""
    exp = data.experiment
    metric = METRICS[exp.primary_metric]
    control = data.arms[exp.control]
    unit = "requests" if metric.kind == "quantile" else "users"
    so_far = sum(data.arms[v].users for v in exp.variant_names)
    plan: dict[str, Any] = {
        "metric": metric.name, "unit": unit, "mde": exp.mde,
        "target_power": thresholds.target_power, "sequential": exp.sequential,
        "so_far": so_far, "needed": None, "reached": False, "days_remaining": None,
        "new_units_per_day": None, "mde_at_current_sample": None, "note": None,
    }
    moments = None
    if metric.kind == "quantile":
        entry = control.quantile.get(metric.name)
        q = _quantile_stats(entry) if entry else None
        if q is not None:
            moments = arm_moments(q)
            plan["so_far"] = so_far = sum(
                int(data.arms[v].quantile.get(metric.name, {}).get("n", 0))
                for v in exp.variant_names)
    elif control.ratio.get(metric.name):
        moments = arm_moments(_ratio_stats(control.ratio[metric.name]))
    if moments is None or moments.n < 2 or moments.mean == 0 \
            or not (math.isfinite(moments.mean) and math.isfinite(moments.variance)) \
            or moments.variance <= 0:
        plan["note"] = "not enough control data yet to estimate the variance"
        return plan
    try:
        plan |= _planned_sample(exp, thresholds, moments.mean, moments.variance, so_far)
    except ValueError as exc:  # a bad number costs this plan, never the night
        plan["note"] = f"no sample plan: {exc}"
        return plan
    plan |= _days_remaining(data, clock, plan)
    return plan


def _planned_sample(exp: Experiment, thresholds: Thresholds, mean: float, variance: float,
                    so_far: int) -> dict[str, Any]:
    """needed, reached and the MDE at the current sample (ValueError on unusable numbers)."""
    tuning = exp.sequential_tuning if exp.sequential else None
    arms = len(exp.variants)
    needed = required_sample_size(mean, variance, exp.mde, n_variations=arms,
                                  alpha=exp.alpha, target_power=thresholds.target_power,
                                  sequential_tuning=tuning)
    mde_now = minimum_detectable_effect(mean, variance, so_far, n_variations=arms,
                                        alpha=exp.alpha, target_power=thresholds.target_power,
                                        sequential_tuning=tuning)
    return {"needed": None if math.isinf(needed) else int(needed),
            "reached": not math.isinf(needed) and so_far >= needed,
            "mde_at_current_sample": _finite(mde_now)}


def _days_remaining(data: ExperimentData, clock: datetime | None, plan: dict[str, Any]
                    ) -> dict[str, Any]:
    if plan["reached"]:
        return {"days_remaining": 0.0}
    if clock is None or plan["needed"] is None:
        return {}
    exp = data.experiment
    elapsed_days = (clock - exp.start).total_seconds() / 86400
    if elapsed_days <= 0:
        return {}
    if plan["unit"] == "requests":
        rate = plan["so_far"] / elapsed_days
    else:  # users new in the last (up to) 7 days: returning users do not add to the sample
        recent = sum(data.arms[v].recent_new_users for v in exp.variant_names)
        rate = recent / min(7.0, elapsed_days)
    out: dict[str, Any] = {"new_units_per_day": rate}
    if rate > 0:
        out["days_remaining"] = (plan["needed"] - plan["so_far"]) / rate
    return out


# ---------------------------------------------------------------------------------- statuses


def _row_status(row: dict[str, Any], alpha: float, trustworthy: bool, enough: bool,
                sequential: bool) -> str:
    if not trustworthy:
        return UNTRUSTWORTHY
    p = row["p_value_adjusted"]
    if p is None:
        return COLLECTING
    if p < alpha and (enough or sequential):
        return SIGNIFICANT
    return NOT_SIGNIFICANT if enough else COLLECTING


def _relative_bounds(row: dict[str, Any]) -> tuple[float, float, float]:
    """(estimate, low, high) of the relative change; a row tested on the absolute change
    because the control's mean is 0 has a relative change of ±∞ (or 0) by its signs."""
    est, low, high = row["estimate"], row["ci_low"], row["ci_high"]
    if row.get("relative", True):
        return est, low, high
    return tuple(math.copysign(math.inf, x) if x else 0.0 for x in (est, low, high))  # type: ignore[return-value]


def guardrail_status(guard: Guardrail, row: dict[str, Any] | None) -> dict[str, Any]:
    """One guardrail's verdict from its relative-effect row: pass when the interval rules out a
    worsening beyond the margin, fail when it rules out anything better than that worsening,
    inconclusive otherwise (also with no estimate or no interval). ``significantly_worse``:
    the interval excludes 0 on the harmful side (an inconclusive guardrail that is
    significantly worse holds a promotion: hold.guardrail_worse). With a control mean of 0
    (0% errors) the row is tested on the absolute change, and any significant rise is
    beyond every margin. The reports' rollback check judges a promoted version's guardrails
    the same way."""
    out: dict[str, Any] = {"metric": guard.metric, "worse_if": guard.worse_if,
                           "max_relative_change": guard.max_relative_change, "estimate": None,
                           "ci_low": None, "ci_high": None, "status": "inconclusive",
                           "significantly_worse": False, "relative": True}
    if row is None or row.get("estimate") is None or row.get("ci_low") is None \
            or row.get("ci_high") is None:
        return out
    out |= {"estimate": row["estimate"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "relative": bool(row.get("relative", True))}
    _, low, high = _relative_bounds(row)
    worst, best = (high, low) if guard.worse_if == "increase" else (-low, -high)
    if worst <= guard.max_relative_change:
        out["status"] = "pass"
    elif best > guard.max_relative_change:
        out["status"] = "fail"
    out["significantly_worse"] = bool(best > 0)
    return out


def _to_show_margin(exp: Experiment, guard: Guardrail, row: dict[str, Any] | None,
                    status: dict[str, Any]) -> dict[str, Any]:
    """Units (both compared arms) at which the guardrail's interval would be within its margin
    if the effect stays at its estimate (None: no estimate, or it is beyond the margin)."""
    unit = "requests" if METRICS[guard.metric].kind == "quantile" else "users"
    out: dict[str, Any] = {"units_to_show_margin": None, "units_so_far": None, "unit": unit}
    if row is None or status["estimate"] is None or not status["relative"] \
            or row.get("se") is None or status["status"] == "pass":
        return out
    n_now = (row.get("control_n") or 0) + (row.get("treatment_n") or 0)
    worsening = status["estimate"] if guard.worse_if == "increase" else -status["estimate"]
    out["units_so_far"] = n_now
    if n_now <= 0:
        return out
    try:
        needed = sample_to_show_margin(
            worsening, row["se"], n_now, guard.max_relative_change, alpha=exp.alpha,
            sequential_tuning=exp.sequential_tuning if exp.sequential else None)
    except ValueError:
        return out
    out["units_to_show_margin"] = None if math.isinf(needed) else int(needed)
    return out


def guardrail_results(exp: Experiment, rows: list[dict[str, Any]], trustworthy: bool
                      ) -> list[dict[str, Any]]:
    """Every guardrail of every treatment (:func:`guardrail_status`, and the units that would
    show its margin); all ``untrustworthy`` when the experiment's integrity checks failed."""
    by_key = {(r["metric"], r["variant"]): r for r in rows}
    out = []
    for guard in exp.guardrails:
        for variant in exp.treatments:
            row = by_key.get((guard.metric, variant))
            status = guardrail_status(guard, row)
            result = {"metric": guard.metric, "variant": variant,
                      **{k: v for k, v in status.items() if k != "metric"},
                      **_to_show_margin(exp, guard, row, status)}
            if not trustworthy:
                result["status"] = UNTRUSTWORTHY
            out.append(result)
    return out


# ---------------------------------------------------------------------------------- report


def analyze_experiment(data: ExperimentData, thresholds: Thresholds,
                       as_of: datetime | None, strata: Strata | None = None, *,
                       missing_versions: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The full report of one experiment; a bandit's (``strata``: its per-period data) is
    judged on period-stratified estimates and per-period checks (tasks/ab/_bandit.py).
    ``missing_versions``: the variants whose REF resolves to no version (untrustworthy)."""
    exp = data.experiment
    checks = integrity_checks(data, thresholds, missing_versions)
    if strata is not None:
        checks = stratified_checks(checks, strata)
    total_users = sum(data.arms[v].users for v in exp.variant_names)
    trustworthy = not checks["failed"]
    control = data.arms[exp.control]
    rows = [compare_metric(exp, metric, control, data.arms[t])
            for metric in METRICS.values() for t in exp.treatments]
    if strata is not None:
        rows = [stratified_row(row, exp, strata) for row in rows]
    adjust(rows, exp.multiple_testing)
    last_seen = max((a.last_ts for a in data.arms.values() if a.last_ts), default=None)
    clock = as_of if as_of is not None else last_seen
    if exp.end is not None and clock is not None:
        clock = min(clock, exp.end)
    plan = sample_plan(data, thresholds, clock)
    for row in rows:
        row["status"] = _row_status(row, exp.alpha, trustworthy, plan["reached"],
                                    exp.sequential)
    guards = guardrail_results(exp, rows, trustworthy)
    primary = [r for r in rows if r["metric"] == exp.primary_metric]
    if checks["missing_versions"]:  # with or without traffic: the file names nothing servable
        status = UNTRUSTWORTHY
    elif not total_users:
        status = COLLECTING
    elif not trustworthy:
        status = UNTRUSTWORTHY
    elif any(r["status"] == SIGNIFICANT for r in primary):
        status = SIGNIFICANT
    elif any(r["status"] == COLLECTING for r in primary):
        status = COLLECTING
    else:
        status = NOT_SIGNIFICANT
    winner = _winner(exp, primary, guards) if status == SIGNIFICANT else None
    weights = dict(zip(exp.variant_names, exp.weights, strict=True))
    arms = [{"variant": a.variant, "users": a.users, "requests": a.requests,
             "weight": weights.get(a.variant), "prompt": exp.variants.get(a.variant),
             "observed_share": a.users / total_users if total_users else None}
            for a in data.arms.values()]
    return {
        "name": exp.name, "status": status, "trustworthy": trustworthy,
        "checks": checks, "arms": arms, "metrics": rows,
        "primary_metric": exp.primary_metric, "winner": winner, "guardrails": guards,
        "sample": plan, "description": exp.description, "control": exp.control,
        "alpha": exp.alpha, "mde": exp.mde, "multiple_testing": exp.multiple_testing,
        "sequential": {"enabled": exp.sequential, "tuning": exp.sequential_tuning},
        "start": exp.start.isoformat(), "end": exp.end.isoformat() if exp.end else None,
        "file": exp.source_file,
    } | ({"allocation": allocation_section(exp, strata)} if strata is not None else {})


def _winner(exp: Experiment, primary: list[dict[str, Any]], guards: list[dict[str, Any]]
            ) -> str | None:
    failed = {g["variant"] for g in guards if g["status"] == "fail"}
    candidates = [r for r in primary if r["status"] == SIGNIFICANT
                  and r["direction"] == "better" and r["variant"] not in failed]
    if not candidates:
        return None
    sign = -1 if METRICS[exp.primary_metric].lower_is_better else 1
    return max(candidates, key=lambda r: sign * r["estimate"])["variant"]


def json_safe(value: Any) -> Any:
    """Replace non-finite floats (one-sided interval ends, undefined values) by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
