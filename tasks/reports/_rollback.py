"""Production after its promotion against the version it replaced (docs/decisions.md,
"Rollback"): the replaced version's requests in the ``lookback`` before the promotion
("before") against the promoted version's requests from the promotion to the end of the night
("after"). DuckDB reduces the logs to per-window sufficient statistics over users; the tests are
those of the A/B analysis (tasks/stats.py: delta-method ratio metrics, order-statistic
quantile interval with the cluster-robust variance), "before" as the control.

The two windows are not randomized arms: traffic and users change over time, and a user seen in
both windows makes the two samples positively correlated (which widens, not narrows, the
interval of the difference). The numbers are evidence of a regression, not proof of its cause.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import duckdb

from flywheel.tasks.ab import (
    METRICS,
    QUANTILE_LADDER,
    QUANTILE_METRICS,
    RATIO_METRICS,
    Guardrail,
    guardrail_status,
    quantile_levels,
)
from flywheel.tasks.db import fetch_dicts, run
from flywheel.tasks.stats import (
    ZERO_CONTROL_MEAN,
    QuantileStats,
    RatioStats,
    bayesian_test,
    frequentist_test,
)

WINDOWS = ("before", "after")
P95 = "latency_p95_ms"
SHOWN_METRICS = ("thumbs_up_rate", "mean_rating", "correction_rate", "error_rate", "latency_ms",
                 P95, "cost_per_request")


def _window_params(before_hash: str, after_hash: str, split: datetime, as_of: datetime,
                   lookback: timedelta) -> dict[str, Any]:
    return {"before_hash": before_hash, "after_hash": after_hash, "split": split,
            "as_of": as_of, "before_from": split - lookback}


def _p95_entry(row: dict[str, Any]) -> dict[str, float] | None:
    """The sample p95 and its order-statistic bounds at the ladder size that fits n."""
    n = int(row["n_latency"])
    if row["q"] is None or n < QUANTILE_LADDER[0]:
        return None
    per_metric = 1 + 2 * len(QUANTILE_LADDER)
    block = row["q"][QUANTILE_METRICS.index(P95) * per_metric:][:per_metric]
    index = max(i for i, n_star in enumerate(QUANTILE_LADDER) if n_star <= n)
    return {"n": n, "quantile": float(block[0]), "lower": float(block[1 + 2 * index]),
            "upper": float(block[2 + 2 * index]), "n_star": QUANTILE_LADDER[index]}


def _ratio(sums: dict[str, Any], metric: str) -> RatioStats:
    return RatioStats(int(sums["n"]), float(sums[f"{metric}__m_sum"] or 0),
                      float(sums[f"{metric}__m_sum_squares"] or 0),
                      float(sums[f"{metric}__d_sum"] or 0),
                      float(sums[f"{metric}__d_sum_squares"] or 0),
                      float(sums[f"{metric}__m_d"] or 0))


def _quantile(entry: dict[str, float], sums: dict[str, Any]) -> QuantileStats:
    return QuantileStats(
        n=int(entry["n"]), nu=METRICS[P95].quantile or 0.95, quantile=entry["quantile"],
        lower=entry["lower"], upper=entry["upper"], n_star=int(entry["n_star"]),
        cluster_n=int(sums["clusters"]), cluster_ind_sum=float(sums["s_sum"] or 0),
        cluster_ind_sum_squares=float(sums["s_sum_squares"] or 0),
        cluster_count_sum=float(sums["n_sum"] or 0),
        cluster_count_sum_squares=float(sums["n_sum_squares"] or 0),
        cluster_ind_count_sum_product=float(sums["s_n"] or 0))


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _test(metric: str, control: Any, treatment: Any, alpha: float) -> dict[str, Any]:
    spec = METRICS[metric]
    freq = frequentist_test(control, treatment, relative=True, alpha=alpha)
    relative = freq.error != ZERO_CONTROL_MEAN
    if not relative:  # 0% before (no errors): the absolute change, as the A/B analysis does
        freq = frequentist_test(control, treatment, relative=False, alpha=alpha)
    row: dict[str, Any] = {"metric": metric, "lower_is_better": spec.lower_is_better,
                           "relative": relative,
                           "before_mean": _finite(freq.control_mean),
                           "after_mean": _finite(freq.treatment_mean),
                           "estimate": None, "ci_low": None, "ci_high": None, "p_value": None,
                           "chance_to_win": None, "direction": None, "error": freq.error}
    if freq.error:
        return row
    bayes = bayesian_test(control, treatment, relative=relative, alpha=alpha,
                          inverse=spec.lower_is_better)
    worse = freq.estimate > 0 if spec.lower_is_better else freq.estimate < 0
    row |= {"estimate": freq.estimate, "ci_low": _finite(freq.ci_low),
            "ci_high": _finite(freq.ci_high), "p_value": freq.p_value,
            "chance_to_win": None if bayes.error else bayes.chance_to_win,
            "direction": ("worse" if worse else "better") if freq.estimate != 0 else None}
    return row


def compare_windows(con: duckdb.DuckDBPyConnection, *, before_hash: str, after_hash: str,
                    split: datetime, as_of: datetime, lookback: timedelta, alpha: float,
                    guardrails: tuple[Guardrail, ...]) -> dict[str, Any]:
    """The before/after comparison: per window its size, per metric the relative change (after
    vs before) with its interval, and the guardrails judged on it."""
    params = _window_params(before_hash, after_hash, split, as_of, lookback)
    sizes = {r["grp"]: r for r in fetch_dicts(
        con, "reports/window_quantiles", {**params, "levels": quantile_levels()})}
    p95 = {w: _p95_entry(sizes[w]) if w in sizes else None for w in WINDOWS}
    sums = {r["grp"]: r for r in fetch_dicts(con, "reports/window_user_sums", {
        **params, "q95_before": (p95["before"] or {}).get("quantile"),
        "q95_after": (p95["after"] or {}).get("quantile")})}
    windows = {w: {"users": int(sizes[w]["users"]) if w in sizes else 0,
                   "requests": int(sizes[w]["requests"]) if w in sizes else 0,
                   "first_ts": sizes[w]["first_ts"].isoformat() if w in sizes else None,
                   "last_ts": sizes[w]["last_ts"].isoformat() if w in sizes else None}
               for w in WINDOWS}
    windows["before"]["from"] = params["before_from"].isoformat()
    windows["before"]["to"] = split.isoformat()
    windows["after"]["from"] = split.isoformat()
    windows["after"]["to"] = as_of.isoformat()
    metrics: list[dict[str, Any]] = []
    if all(w in sums for w in WINDOWS):
        for metric in SHOWN_METRICS:
            if metric in RATIO_METRICS:
                metrics.append(_test(metric, _ratio(sums["before"], metric),
                                     _ratio(sums["after"], metric), alpha))
            elif p95["before"] and p95["after"]:
                metrics.append(_test(metric, _quantile(p95["before"], sums["before"]),
                                     _quantile(p95["after"], sums["after"]), alpha))
            else:
                metrics.append({"metric": metric, "estimate": None, "ci_low": None,
                                "ci_high": None, "p_value": None, "before_mean": None,
                                "after_mean": None, "chance_to_win": None, "direction": None,
                                "lower_is_better": METRICS[metric].lower_is_better,
                                "error": "fewer than 100 requests with a latency in a window"})
    by_metric = {m["metric"]: m for m in metrics}
    return {
        "before_hash": before_hash, "after_hash": after_hash, "split": split.isoformat(),
        "windows": windows, "metrics": metrics, "alpha": alpha,
        "guardrails": [guardrail_status(g, by_metric.get(g.metric)) for g in guardrails],
        "p95_ms": {w: (p95[w] or {}).get("quantile") for w in WINDOWS},
    }


def latency_histogram(con: duckdb.DuckDBPyConnection, *, before_hash: str, after_hash: str,
                      split: datetime, as_of: datetime, lookback: timedelta,
                      per_decade: int) -> dict[str, list[tuple[int, int]]]:
    """Latency bins of the two windows (see ``sql/reports/latency_hist_windows.sql``)."""
    params = _window_params(before_hash, after_hash, split, as_of, lookback)
    out: dict[str, list[tuple[int, int]]] = {}
    run(con, "schema/latency_bin_macro")
    for row in fetch_dicts(con, "reports/latency_hist_windows",
                           {**params, "per_decade": per_decade}):
        out.setdefault(row["grp"], []).append((int(row["bin"]), int(row["n"])))
    return {w: out[w] for w in WINDOWS if w in out}
