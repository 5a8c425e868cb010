"""The alert rules, as pure functions over aggregates (formulas: docs/monitoring.md).

* **Control limits.** A metric's baseline is its value on each of the trailing nights (default 7,
  at least 3, each backed by enough observations). Tonight is out of control when it falls beyond
  ``mean ± max(t · s · sqrt(1 + 1/k), δ · |mean|)`` on the metric's harmful side, where ``k`` is
  the number of baseline nights, ``s`` their sample standard deviation, ``t`` Student's quantile
  at 0.99865 with ``k − 1`` degrees of freedom (the prediction interval for one new night that
  covers what ``± 3σ`` covers when σ is known: 99.73%) and ``δ`` the smallest relative change worth
  an alert (default 10%). Tonight's own sample must also differ from the baseline's centre at the
  same one-sided 0.00135 level, so a thin night is not flagged on its sampling noise: an exact
  binomial test for rates (against the pooled baseline rate), a Poisson test for the volume, a
  binomial test on the count of observations at or below the centre for quantiles, a z test with
  tonight's standard error for means. A night's value counts only when enough observations stand
  behind it (default 30; a tail quantile ``q`` needs at least 10 observations beyond it: 200 for
  p95, 1000 for p99).
* **Population stability index** of a length distribution, in bins cut at the baseline's deciles:
  ``PSI = Σ (a_i − e_i) · ln(a_i / e_i)`` with shares floored at 1e-4. Below 0.1 stable, 0.1–0.25
  a moderate shift (warning), 0.25 and more a significant shift (critical), in each case only when
  Pearson's χ² test of the two samples' bin counts gives p < 0.001 (small nights make PSI noisy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from flywheel.tasks.stats import holm_bonferroni

Direction = Literal["up", "down", "both"]

# Which way a metric goes wrong. Improvements are not alerts.
METRIC_DIRECTIONS: dict[str, Direction] = {
    "requests": "both",
    "error_rate": "up",
    "latency_p50_ms": "up",
    "latency_p95_ms": "up",
    "latency_p99_ms": "up",
    "tokens_per_request": "both",
    "cost_per_request": "up",
    "thumbs_up_rate": "down",
    "mean_rating": "down",
    "correction_rate": "up",
}
RATE_METRICS = frozenset({"error_rate", "thumbs_up_rate", "correction_rate"})

CONTROL_COVERAGE = 0.9973  # what ±3σ covers under a normal law
ONE_SIDED_ALPHA = (1 - CONTROL_COVERAGE) / 2  # 0.00135
PSI_EPSILON = 1e-4
PSI_WARNING = 0.10
PSI_CRITICAL = 0.25
PSI_ALPHA = 0.001


@dataclass(frozen=True)
class Limits:
    """A metric's control limits for tonight."""

    center: float
    low: float
    high: float


def quantile_min_count(q: float, min_count: int) -> int:
    """Observations a night needs before its ``q`` quantile is judged: at least 10 beyond it."""
    return max(min_count, math.ceil(10 / (1 - q) - 1e-9))


def control_limits(mean: float, sd: float, nights: int, min_relative_change: float) -> Limits:
    """The prediction-interval control limits of one metric from ``nights`` baseline values."""
    if nights < 2:
        raise ValueError("control limits need at least 2 baseline nights")
    t = float(stats.t.ppf(1 - ONE_SIDED_ALPHA, nights - 1))
    half = max(t * sd * math.sqrt(1 + 1 / nights), min_relative_change * abs(mean))
    return Limits(center=mean, low=mean - half, high=mean + half)


def side_of(value: float, limits: Limits, direction: Direction) -> Literal["above", "below"] | None:
    """``above``/``below`` when the value is beyond a limit on the metric's harmful side."""
    if value > limits.high and direction in ("up", "both"):
        return "above"
    if value < limits.low and direction in ("down", "both"):
        return "below"
    return None


def rate_shift_p_value(successes: int, n: int, pooled_rate: float, baseline_n: int,
                       side: Literal["above", "below"]) -> float:
    """One-sided exact binomial p-value of tonight's count against the baseline rate.

    The baseline rate is smoothed (Jeffreys: +0.5 success, +1 trial) so that a baseline with no
    event at all does not make a single event tonight infinitely surprising.
    """
    p0 = (pooled_rate * baseline_n + 0.5) / (baseline_n + 1)
    if side == "above":
        return float(stats.binom.sf(successes - 1, n, p0))
    return float(stats.binom.cdf(successes, n, p0))


QUANTILE_OF = {"latency_p50_ms": 0.50, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}
MEAN_METRICS = frozenset({"tokens_per_request", "cost_per_request", "mean_rating"})


def count_shift_p_value(count: int, baseline_mean: float, side: Literal["above", "below"]) -> float:
    """One-sided Poisson p-value of tonight's count against the baseline's mean count."""
    if side == "above":
        return float(stats.poisson.sf(count - 1, baseline_mean))
    return float(stats.poisson.cdf(count, baseline_mean))


def quantile_shift_p_value(q: float, n: int, n_below: int, n_at_or_below: int,
                           side: Literal["above", "below"]) -> float:
    """One-sided p-value that tonight's ``q`` quantile moved past the baseline's centre ``c``.

    Under no shift, the number of tonight's ``n`` observations at or below ``c`` is
    Binomial(n, q): few of them means the quantile rose, many below it means it fell.
    """
    if side == "above":
        return float(stats.binom.cdf(n_at_or_below, n, q))
    return float(stats.binom.sf(n_below - 1, n, q))


def mean_shift_p_value(value: float, center: float, sd: float | None, n: int,
                       side: Literal["above", "below"]) -> float:
    """One-sided z-test p-value of tonight's mean against the baseline's centre."""
    if n < 2 or sd is None:
        return 1.0
    if sd == 0:
        return 0.0 if (value > center if side == "above" else value < center) else 1.0
    z = (value - center) / (sd / math.sqrt(n))
    return float(stats.norm.sf(z) if side == "above" else stats.norm.cdf(z))


def family_adjusted(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values over one night's family of tests, in input order: a
    test alerts when its adjusted p is below the rule's level, which keeps the chance of any
    false alarm in a night at that level however many versions and metrics are watched. A
    p-value that is not a number counts as 1 (it cannot alert)."""
    return holm_bonferroni([p if 0 <= p <= 1 else 1.0 for p in p_values])


def psi(actual: list[int], expected: list[int], epsilon: float = PSI_EPSILON) -> float:
    """Population stability index of two samples' counts over the same bins (reference formula)."""
    n_a, n_e = sum(actual), sum(expected)
    total = 0.0
    for a_count, e_count in zip(actual, expected, strict=True):
        a = max(a_count / n_a, epsilon)
        e = max(e_count / n_e, epsilon)
        total += (a - e) * math.log(a / e)
    return total


def psi_p_value(chi2: float, bins: int) -> float:
    """p-value of Pearson's χ² statistic of a 2 × ``bins`` table (``bins − 1`` degrees of freedom)."""
    if bins < 2:
        return 1.0
    return float(stats.chi2.sf(chi2, bins - 1))


def psi_severity(value: float, p_value: float) -> Literal["warning", "critical"] | None:
    """The alert a PSI value raises, if any."""
    if p_value >= PSI_ALPHA:
        return None
    if value >= PSI_CRITICAL:
        return "critical"
    if value >= PSI_WARNING:
        return "warning"
    return None
