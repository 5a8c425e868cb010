"""DuckDB aggregation of the logs into per-arm sufficient statistics (no request rows reach
Python: every query below returns one row per experiment × arm [× metric]). The per-user sums
come from per-user-night sums: kept by the nightly and read back (``tasks/ab/_state.py``), or
computed from the raw logs for a one-off analysis."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
from scipy.stats import norm

from flywheel.tasks.ab._experiments import Experiment
from flywheel.tasks.ab._metric_sql import fetch_metric_rows, run_metric_statement
from flywheel.tasks.ab._metrics import METRICS, QUANTILE_METRICS
from flywheel.tasks.ab._state import apply_plan, plan_windows
from flywheel.tasks.db import fetch_dicts, run, sql_text
from flywheel.tasks.stats import cumulative_weights

# GrowthBook's ladder of sample sizes for quantile intervals: n*_k = 100·2^k; an arm with n
# events uses the largest n*_k ≤ n and scales the variance by n*/n.
QUANTILE_LADDER = tuple(100 * 2**k for k in range(20))
_Z = float(norm.ppf(0.975))


@dataclass
class ArmData:
    """What the SQL says about one arm of one experiment."""

    variant: str
    users: int = 0
    multi_arm_users: int = 0
    requests: int = 0
    mismatched_requests: int = 0
    recent_new_users: int = 0
    last_ts: datetime | None = None
    ratio: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> sums
    quantile: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> q, bounds


@dataclass
class ExperimentData:
    """The aggregated data of one experiment as of a moment."""

    experiment: Experiment
    arms: dict[str, ArmData]  # every variant of the file, plus any unknown logged arm
    multi_arm_users: int = 0
    users_seen: int = 0


@dataclass
class Aggregates:
    """Everything the analysis needs, from one pass of SQL."""

    experiments: list[ExperimentData]
    unfiled: list[dict[str, Any]]
    sql_seconds: float = 0.0
    sql_steps: dict[str, float] = field(default_factory=dict)
    nights_computed: int = 0  # per-user-night windows computed from the raw logs
    from_state: bool = False  # the rest read back from the nightly state


class _Stopwatch:
    """Seconds spent per named step."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = self.steps.get(name, 0.0) + now - self._last
        self._last = now


def quantile_levels() -> list[float]:
    """The constant list of quantile levels the SQL computes: for each quantile metric ν, then
    for each ladder size n*, ν ∓ z √(ν(1−ν)/n*)."""
    levels: list[float] = []
    for name in QUANTILE_METRICS:
        nu = METRICS[name].quantile or 0.5
        levels.append(nu)
        for n_star in QUANTILE_LADDER:
            half = _Z * math.sqrt(nu * (1 - nu) / n_star)
            levels += [max(0.0, nu - half), min(1.0, nu + half)]
    return levels


def _ladder_index(n: int) -> int | None:
    fitting = [i for i, n_star in enumerate(QUANTILE_LADDER) if n_star <= n]
    return fitting[-1] if fitting else None


def _install_config(con: duckdb.DuckDBPyConnection, experiments: Sequence[Experiment],
                    as_of: datetime | None, lookback: timedelta) -> None:
    run(con, "ab/config_create")
    for exp in experiments:
        end = exp.end if as_of is None or (exp.end is not None and exp.end < as_of) else as_of
        run(con, "ab/config_insert", {
            "experiment": exp.name, "variants": exp.variant_names,
            "cum_weights": list(cumulative_weights(exp.weights)), "start_ts": exp.start,
            "end_ts": end, "pre_start_ts": exp.start - lookback,
        })


def aggregate(
    con: duckdb.DuckDBPyConnection,
    experiments: Sequence[Experiment],
    as_of: datetime | None,
    *,
    cuped_lookback: timedelta,
    recent_window: timedelta = timedelta(days=7),
    keep_state: bool = False,
) -> Aggregates:
    """Run the A/B SQL for ``experiments`` over requests with ts < ``as_of`` (None: all); with
    ``keep_state`` (the nightly), on the per-user-night sums kept in the store, computing only
    the nights that changed since and keeping them."""
    started = time.perf_counter()
    watch = _Stopwatch()
    known = [e.name for e in experiments]
    unfiled = fetch_dicts(con, "ab/unfiled_experiments", {"as_of": as_of, "known": known})
    watch.lap("unfiled experiments")
    active = [e for e in experiments if as_of is None or e.start < as_of]
    data = {e.name: ExperimentData(e, {v: ArmData(v) for v in e.variant_names})
            for e in experiments}
    nights_computed, from_state = 0, False
    if active:
        run(con, "ab/session_settings")
        run(con, "ab/assign_variant_macro")
        _install_config(con, active, as_of, cuped_lookback)
        plan = plan_windows(con, active, as_of, cuped_lookback, keep=keep_state)
        apply_plan(con, plan, as_of, cuped_lookback, active)
        nights_computed, from_state = len(plan.windows), plan.keep
        watch.lap("per-user-night sums")
        _read_quantiles(con, data)
        watch.lap("latency quantiles")
        run_metric_statement(con, "ab/user_arms")
        watch.lap("per-user post period")
        run_metric_statement(con, "ab/user_pre")
        watch.lap("per-user pre period")
        _read_checks(con, data, as_of - recent_window if as_of is not None else None,
                     recent_window)
        watch.lap("checks")
        for row in fetch_metric_rows(con, "ab/arm_metric_stats"):
            arm = _arm(data, row["experiment"], row["variant"])
            for column, value in row.items():
                if "__" in column:
                    metric, statistic = column.split("__", 1)
                    arm.ratio.setdefault(metric, {"n": float(row["n"])})[statistic] = float(
                        value or 0)
        watch.lap("ratio metric sums")
    return Aggregates(list(data.values()), unfiled, time.perf_counter() - started, watch.steps,
                      nights_computed, from_state)


def _arm(data: dict[str, ExperimentData], experiment: str, variant: str) -> ArmData:
    arms = data[experiment].arms
    if variant not in arms:
        arms[variant] = ArmData(variant)
    return arms[variant]


def _read_checks(con: duckdb.DuckDBPyConnection, data: dict[str, ExperimentData],
                 recent_from: datetime | None, recent_window: timedelta) -> None:
    if recent_from is None:  # all data: "recent" is relative to the last request seen
        last = max((a.last_ts for e in data.values() for a in e.arms.values() if a.last_ts),
                   default=None)
        recent_from = last - recent_window if last is not None else None
    rows = fetch_dicts(con, "ab/arm_checks", {"recent_from": recent_from})
    for row in rows:
        arm = _arm(data, row["experiment"], row["variant"])
        arm.users = int(row["users"])
        arm.multi_arm_users = int(row["multi_arm_users"])
        arm.requests = int(row["requests"])
        arm.mismatched_requests = int(row["mismatched_requests"])
        arm.recent_new_users = int(row["recent_new_users"])
        for i, name in enumerate(QUANTILE_METRICS, start=1):
            entry = arm.quantile.get(name)
            if entry is not None:
                entry |= {"clusters": int(row["clusters"]), "n_sum": row["n_sum"],
                          "n_sum_squares": row["n_sum_squares"], "s_sum": row[f"s{i}_sum"],
                          "s_sum_squares": row[f"s{i}_sum_squares"], "s_n": row[f"s{i}_n"]}
    for row in fetch_dicts(con, "ab/experiment_checks"):
        exp = data[row["experiment"]]
        exp.multi_arm_users = int(row["multi_arm_users"])
        exp.users_seen = int(row["users"])


def _read_quantiles(con: duckdb.DuckDBPyConnection, data: dict[str, ExperimentData]) -> None:
    """Quantiles per arm (all requests logged in it) and their order-statistic bounds; the
    sample quantiles go to ab_quantile_hat for the per-user pass."""
    levels = quantile_levels()
    per_metric = 1 + 2 * len(QUANTILE_LADDER)
    hats: list[dict[str, Any]] = []
    for row in fetch_dicts(con, "ab/arm_quantiles", {"levels": levels}):
        arm = _arm(data, row["experiment"], row["variant"])
        arm.last_ts = row["last_ts"]
        n = int(row["n_latency"])
        index = _ladder_index(n)
        q_hats: list[float | None] = []
        if row["q"] is None:  # no request of the arm has a latency
            hats.append({"experiment": row["experiment"], "variant": row["variant"],
                         "q1": None, "q2": None})
            continue
        for i, name in enumerate(QUANTILE_METRICS):
            block = row["q"][i * per_metric:(i + 1) * per_metric]
            entry: dict[str, float] = {"n": n, "nu": METRICS[name].quantile or 0.5,
                                       "quantile": float(block[0])}
            if index is not None:
                entry |= {"n_star": QUANTILE_LADDER[index],
                          "lower": float(block[1 + 2 * index]),
                          "upper": float(block[2 + 2 * index])}
            arm.quantile[name] = entry
            q_hats.append(float(block[0]))
        # the SQL has one column per quantile metric, in QUANTILE_METRICS order
        hats.append({"experiment": row["experiment"], "variant": row["variant"],
                     "q1": q_hats[0], "q2": q_hats[1]})
    run(con, "ab/quantile_hat_create")
    if hats:
        con.executemany(sql_text("ab/quantile_hat_insert"), hats)
