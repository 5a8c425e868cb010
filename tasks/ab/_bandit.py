"""Bandit experiments against the store (docs/statistics.md, "Adaptive allocation"): their
allocation periods (``ab_allocations``), the per-period sums of the A/B pass, the honest
(period-stratified) comparison rows and checks that replace the pooled ones, and the nightly
``allocate`` step that computes the next period's weights.

A period is a span of constant weights: the experiment's declared weights from its start, then
each stored night's weights from the day after that night (consecutive equal weights merge).
Users keep the arm they were first assigned (the serving router's sticky store), so a user's
stratum is the period of their first request in the experiment.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import duckdb
import numpy as np
from scipy.stats import norm

from flywheel.tasks.ab._allocation import (
    expected_loss,
    next_shares,
    night_seed,
    period_srm,
    pooled,
    posterior_draws,
    rank_shares,
    regret,
    stratify,
)
from flywheel.tasks.ab._experiments import Experiment
from flywheel.tasks.ab._metric_sql import arm_sums_select
from flywheel.tasks.ab._metrics import METRICS, Metric, ratio_metrics
from flywheel.tasks.db import fetch_dicts, run, sql_text
from flywheel.tasks.stats import RatioStats, cumulative_weights, normal_risk

PERIOD_SUMS = "/*@period_sums*/"
_SUMS = ("m_sum", "m_sum_squares", "d_sum", "d_sum_squares", "m_d")


@dataclass(frozen=True)
class Period:
    """A span of constant weights of one bandit experiment."""

    index: int
    starts: datetime  # UTC
    ends: datetime | None  # None: still open
    weights: tuple[float, ...]  # in variant order
    phase: str  # declared | burn-in | adaptive | done | no-data


@dataclass(frozen=True)
class Strata:
    """One bandit experiment's per-period data: users and every ratio metric's sums per
    (period, arm), and the users whose arm is not the one their period's weights give."""

    periods: tuple[Period, ...]
    n: np.ndarray  # (P, K)
    mismatched: int
    sums: dict[str, dict[str, np.ndarray]]  # metric -> statistic -> (P, K)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def allocation_rows(con: duckdb.DuckDBPyConnection, names: list[str], until: date | None
                    ) -> dict[str, list[dict[str, Any]]]:
    """The stored allocation rows of the experiments ``names`` starting on or before ``until``
    (None: all), by experiment, oldest first."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for row in fetch_dicts(con, "ab/allocations_history",
                           {"experiments": names, "until": until}):
        out[row["experiment"]].append(row)
    return out


def periods_of(exp: Experiment, rows: list[dict[str, Any]]) -> tuple[Period, ...]:
    """The experiment's periods from its stored allocation rows (declared weights first)."""
    nights: dict[date, dict[str, dict[str, Any]]] = {}
    for row in rows:
        nights.setdefault(row["starts_on"], {})[row["variant"]] = row
    spans: list[tuple[datetime, tuple[float, ...], str]] = [(exp.start, exp.weights, "declared")]
    for day in sorted(nights):
        by_variant = nights[day]
        weights = tuple(float(by_variant[v]["weight"]) if v in by_variant else 0.0
                        for v in exp.variant_names)
        phase = next(iter(by_variant.values()))["phase"]
        starts = max(_midnight(day), exp.start)
        if np.allclose(weights, spans[-1][1], atol=1e-12):
            spans[-1] = (spans[-1][0], spans[-1][1], phase)
        elif starts == spans[-1][0]:
            spans[-1] = (starts, weights, phase)
        else:
            spans.append((starts, weights, phase))
    return tuple(Period(i, start, spans[i + 1][0] if i + 1 < len(spans) else None, weights,
                        phase) for i, (start, weights, phase) in enumerate(spans))


def period_statement(metrics: tuple[Metric, ...]) -> str:
    """``sql/ab/period_arm_stats.sql`` with every ratio metric's per-arm sums filled in."""
    return sql_text("ab/period_arm_stats").replace(
        PERIOD_SUMS, arm_sums_select(metrics, post="u", pre=None).lstrip())


def read_strata(con: duckdb.DuckDBPyConnection, experiments: list[Experiment],
                as_of: datetime | None) -> dict[str, Strata]:
    """Per-period data of the bandit ``experiments``, on a connection on which the A/B pass
    (:func:`flywheel.tasks.ab.aggregate`) has just built ``ab_user_arm``."""
    bandits = [e for e in experiments if e.allocation is not None
               and (as_of is None or e.start < as_of)]
    if not bandits:
        return {}
    until = None if as_of is None else (as_of - timedelta(microseconds=1)).date()
    stored = allocation_rows(con, [e.name for e in bandits], until)
    periods = {e.name: periods_of(e, stored[e.name]) for e in bandits}
    run(con, "ab/periods_create")
    for exp in bandits:
        for p in periods[exp.name]:
            run(con, "ab/periods_insert", {
                "experiment": exp.name, "period": p.index, "from_ts": p.starts,
                "to_ts": p.ends or datetime.max.replace(tzinfo=UTC),
                "variants": exp.variant_names, "cum_weights": list(cumulative_weights(p.weights))})
    metrics = ratio_metrics()
    cursor = con.execute(period_statement(metrics))
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
    return {e.name: _strata(e, periods[e.name], [r for r in rows if r["experiment"] == e.name],
                            metrics) for e in bandits}


def _strata(exp: Experiment, periods: tuple[Period, ...], rows: list[dict[str, Any]],
            metrics: tuple[Metric, ...]) -> Strata:
    shape = (len(periods), len(exp.variants))
    n = np.zeros(shape)
    sums = {m.name: {s: np.zeros(shape) for s in _SUMS} for m in metrics}
    mismatched = 0
    index = {v: i for i, v in enumerate(exp.variant_names)}
    for row in rows:
        mismatched += int(row["mismatched"])
        arm = index.get(row["variant"])
        if arm is None:
            continue
        n[row["period"], arm] = row["n"]
        for m in metrics:
            for s in _SUMS:
                sums[m.name][s][row["period"], arm] = float(row[f"{m.name}__{s}"] or 0.0)
    return Strata(periods, n, mismatched, sums)


def metric_arms(strata: Strata, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Per (period, arm): the ratio metric's mean and per-user (delta-method) variance."""
    s = strata.sums[metric]
    mean = np.zeros_like(strata.n)
    variance = np.zeros_like(strata.n)
    for p, k in np.ndindex(strata.n.shape):
        stats = RatioStats(int(strata.n[p, k]), s["m_sum"][p, k], s["m_sum_squares"][p, k],
                           s["d_sum"][p, k], s["d_sum_squares"][p, k], s["m_d"][p, k])
        mean[p, k], variance[p, k] = stats.mean, stats.variance
    return mean, variance


def stratified_row(row: dict[str, Any], exp: Experiment, strata: Strata) -> dict[str, Any]:
    """A comparison row (``compare_metric``'s shape) recomputed from the period-stratified
    estimates: relative lift (m_B − m_A)/|m_A| with the delta-method variance, a normal
    interval and p-value, and the flat-prior chance to win."""
    metric = METRICS[row["metric"]]
    if metric.kind != "ratio":
        return row | {"stratified": False}
    mean, variance = metric_arms(strata, metric.name)
    est = stratify(strata.n, mean, variance)
    a, b = exp.variant_names.index(row["control"]), exp.variant_names.index(row["variant"])
    ma, mb, va, vb = est.mean[a], est.mean[b], est.variance[a], est.variance[b]
    out = row | {"stratified": True, "control_mean": ma, "treatment_mean": mb,
                 "control_n": int(strata.n[:, a].sum()), "treatment_n": int(strata.n[:, b].sum()),
                 "cuped": False, "theta": None}
    # delta-method variance of the relative lift; 0 when the treatment mean and variance are 0
    var_lift = vb / ma**2 + va * mb**2 / ma**4 if est.users and ma else 0.0
    se = math.sqrt(var_lift) if var_lift > 0 else 0.0  # rounding can make a variance -1e-17
    if not se > 0:
        return out | {"estimate": None, "ci_low": None, "ci_high": None, "se": None,
                      "p_value": None, "chance_to_win": None, "direction": None,
                      "error": "no period with at least 2 users in every arm (or no variance)"}
    lift = (mb - ma) / abs(ma)
    z = float(norm.ppf(1 - exp.alpha / 2))
    win = float(norm.cdf(-lift / se if metric.lower_is_better else lift / se))
    risk_keep, risk_ship = normal_risk(-lift if metric.lower_is_better else lift, se)
    better = lift < 0 if metric.lower_is_better else lift > 0
    return out | {
        "estimate": lift, "ci_low": lift - z * se, "ci_high": lift + z * se, "se": se,
        "p_value": float(2 * norm.sf(abs(lift) / se)), "chance_to_win": win,
        "risk_control": risk_keep, "risk_treatment": risk_ship, "error": None,
        "direction": "better" if better else "worse" if lift != 0 else None}


def stratified_checks(checks: dict[str, Any], strata: Strata) -> dict[str, Any]:
    """The integrity checks with SRM against each period's weights and the mismatch share
    against the weights of each user's period."""
    weights = np.array([p.weights for p in strata.periods])
    per_period, combined = period_srm(strata.n, weights)
    users = float(strata.n.sum())
    mismatch = strata.mismatched / users if users else 0.0
    failed = [f for f in checks["failed"] if f not in ("srm", "assignment_mismatch")]
    thresholds = checks["thresholds"]
    if users and combined < thresholds["srm_p_value"]:
        failed.insert(0, "srm")
    if mismatch > thresholds["max_mismatch_share"]:
        failed.insert(1 if "srm" in failed else 0, "assignment_mismatch")
    return checks | {
        "srm_p_value": combined if users else None, "assignment_mismatch_share": mismatch,
        "srm_by_period": [float(p) for p in per_period], "failed": failed,
        "srm_method": "per period: Pearson's chi2 of each period's users against its weights, "
                      "statistics and degrees of freedom summed"}


def allocation_section(exp: Experiment, strata: Strata) -> dict[str, Any]:
    """The ``allocation`` part of a bandit experiment's report: its periods, the stratified
    and the pooled estimates of the primary metric per arm, the regret against the declared
    fixed split (plug-in: the stratified means as the truth)."""
    assert exp.allocation is not None
    metric = METRICS[exp.primary_metric]
    mean, variance = metric_arms(strata, metric.name)
    est = stratify(strata.n, mean, variance)
    naive = pooled(strata.n, mean)
    per_period, _ = period_srm(strata.n, np.array([p.weights for p in strata.periods]))
    bandit = float(regret(strata.n, est.mean, metric.lower_is_better))
    fixed_n = strata.n.sum(axis=-1, keepdims=True) * np.array(exp.weights)
    fixed = float(regret(fixed_n, est.mean, metric.lower_is_better))
    plan = exp.allocation
    return {
        "method": plan.method, "burn_in_days": plan.burn_in_days, "min_share": plan.min_share,
        "stop_when": {"prob_best": plan.prob_best, "expected_loss": plan.expected_loss},
        "metric": metric.name, "lower_is_better": metric.lower_is_better,
        "periods": [{"period": p.index, "from": p.starts.isoformat(),
                     "to": p.ends.isoformat() if p.ends else None, "phase": p.phase,
                     "weights": dict(zip(exp.variant_names, p.weights, strict=True)),
                     "users": {v: int(strata.n[p.index, k])
                               for k, v in enumerate(exp.variant_names)},
                     "srm_p_value": float(per_period[p.index])} for p in strata.periods],
        "arms": [{"variant": v, "users": int(strata.n[:, k].sum()),
                  "stratified_mean": float(est.mean[k]), "variance": float(est.variance[k]),
                  "pooled_mean": float(naive[k])} for k, v in enumerate(exp.variant_names)],
        "regret": {"bandit": bandit, "fixed_split": fixed, "saved": fixed - bandit,
                   "unit": f"users x {metric.name} below the best arm"},
    }


# ---------------------------------------------------------------------------------- allocate


@dataclass(frozen=True)
class Decision:
    """The next period's weights of one bandit experiment."""

    experiment: str
    starts_on: date
    period: int
    weights: tuple[float, ...]
    phase: str
    prob_best: tuple[float, ...] | None
    expected_loss: tuple[float, ...] | None  # relative to |control mean|
    seed: int
    note: str


def _frozen(exp: Experiment, last: list[dict[str, Any]]) -> tuple[float, ...] | None:
    if not last or last[0]["phase"] != "done":
        return None
    by_variant = {r["variant"]: float(r["weight"]) for r in last}
    return tuple(by_variant.get(v, 0.0) for v in exp.variant_names)


def decide(exp: Experiment, report: dict[str, Any] | None, last: list[dict[str, Any]],
           run_date: date) -> Decision:
    """The weights for the day after ``run_date`` from the night's A/B report of ``exp``
    (its ``allocation`` section and guardrails): declared during the burn-in and without
    data, frozen once done, else by the plan's method from the stratified posterior."""
    plan = exp.allocation
    assert plan is not None
    starts_on = run_date + timedelta(days=1)
    period = (starts_on - exp.start.date()).days
    seed = night_seed(exp.name, run_date)
    base = Decision(exp.name, starts_on, period, exp.weights, "burn-in", None, None, seed, "")
    frozen = _frozen(exp, last)
    if frozen is not None:
        return replace(base, **{"weights": frozen, "phase": "done",
                                 "note": "stop rule met earlier: weights frozen"})
    if period < plan.burn_in_days:
        return replace(base, **{"note": f"burn-in day {period + 1} of "
                                                         f"{plan.burn_in_days}"})
    section = (report or {}).get("allocation")
    arms = (section or {}).get("arms") or []
    if not arms or any(a["users"] < 2 for a in arms):
        return replace(base, **{"phase": "no-data",
                                 "note": "an arm has fewer than 2 users: declared weights"})
    return _adaptive(exp, report or {}, base)


def _adaptive(exp: Experiment, report: dict[str, Any], base: Decision) -> Decision:
    plan = exp.allocation
    assert plan is not None
    section = report["allocation"]
    arms = section["arms"]
    lower = bool(section["lower_is_better"])
    mean = np.array([a["stratified_mean"] for a in arms])
    variance = np.array([a["variance"] for a in arms])
    counts = np.array([a["users"] for a in arms], dtype=float)
    failing = {g["variant"] for g in report.get("guardrails", []) if g["status"] == "fail"}
    eligible = np.array([v not in failing for v in exp.variant_names])
    rng = np.random.default_rng(base.seed)
    samples = posterior_draws(mean, variance, rng)
    weights = next_shares(plan.method, samples, min_share=plan.min_share, lower_is_better=lower,
                          eligible=eligible, mean=mean, unit_sd=np.sqrt(variance * counts),
                          counts=counts)
    best, _ = rank_shares(samples, lower, eligible)
    loss = expected_loss(samples, lower) / max(abs(mean[0]), 1e-12)
    top = int(np.argmax(best))
    done = bool(best[top] >= plan.prob_best and loss[top] <= plan.expected_loss)
    note = (f"stop rule met: {exp.variant_names[top]} best with probability {best[top]:.3f}, "
            f"expected loss {loss[top]:.4f}" if done else "")
    if failing:
        note = (note + "; " if note else "") + "guardrail failing for " + ", ".join(
            sorted(failing)) + ": floor share only"
    return replace(base, **{"weights": tuple(float(w) for w in weights),
                             "phase": "done" if done else "adaptive",
                             "prob_best": tuple(float(p) for p in best),
                             "expected_loss": tuple(float(x) for x in loss), "note": note})


def save_decision(con: duckdb.DuckDBPyConnection, exp: Experiment, decision: Decision,
                  run_date: date, now: datetime) -> int:
    """Replace the stored weights of ``decision``'s period; returns the rows written."""
    run(con, "ab/allocations_delete", {"experiment": exp.name,
                                       "starts_on": decision.starts_on})
    for k, variant in enumerate(exp.variant_names):
        run(con, "ab/allocations_insert", {
            "experiment": exp.name, "starts_on": decision.starts_on, "run_date": run_date,
            "period": decision.period, "variant": variant, "weight": decision.weights[k],
            "method": exp.allocation.method if exp.allocation else "",
            "phase": decision.phase,
            "prob_best": decision.prob_best[k] if decision.prob_best else None,
            "expected_loss": decision.expected_loss[k] if decision.expected_loss else None,
            "seed": decision.seed, "note": decision.note or None, "computed_at": now})
    return len(exp.variant_names)


def night_reports(con: duckdb.DuckDBPyConnection, run_date: date) -> dict[str, dict[str, Any]]:
    """The stored A/B report of every experiment analysed on ``run_date``."""
    return {row["experiment"]: json.loads(row["report"])
            for row in fetch_dicts(con, "ab/checks_of_night", {"run_date": run_date})}


def bandits_for(experiments: list[Experiment], run_date: date) -> list[Experiment]:
    """The bandit experiments that run on the day after ``run_date``."""
    day = _midnight(run_date + timedelta(days=1))
    return [e for e in experiments if e.allocation is not None and e.start < day + timedelta(days=1)
            and (e.end is None or e.end > day)]


def run_allocation(con: duckdb.DuckDBPyConnection, experiments: list[Experiment],
                   run_date: date, now: datetime) -> list[dict[str, Any]]:
    """The ``allocate`` step's work: every running bandit's weights for the next day, from
    the night's stored A/B report, written to ``ab_allocations``. Returns one summary each."""
    bandits = bandits_for(experiments, run_date)
    if not bandits:
        return []
    reports = night_reports(con, run_date)
    stored = allocation_rows(con, [e.name for e in bandits], run_date)
    out = []
    for exp in bandits:
        previous = [r for r in stored[exp.name] if r["starts_on"] <= run_date]
        last_day = max((r["starts_on"] for r in previous), default=None)
        decision = decide(exp, reports.get(exp.name),
                          [r for r in previous if r["starts_on"] == last_day], run_date)
        save_decision(con, exp, decision, run_date, now)
        out.append({"experiment": exp.name, "starts_on": decision.starts_on.isoformat(),
                    "period": decision.period, "phase": decision.phase,
                    "weights": dict(zip(exp.variant_names, decision.weights, strict=True)),
                    "prob_best": dict(zip(exp.variant_names, decision.prob_best, strict=True))
                    if decision.prob_best else None, "note": decision.note})
    return out
