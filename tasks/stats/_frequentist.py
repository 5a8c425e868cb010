"""Welch's t-test of treatment against control, or the always-valid sequential test."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flywheel.tasks.stats._cuped import compare, untestable_reason
from flywheel.tasks.stats._sequential import (
    Alternative,
    sequential_halfwidth,
    sequential_p_value,
)
from flywheel.tasks.stats._special import t_ppf, t_sf
from flywheel.tasks.stats._sufficient import ArmMoments, Stats


def welch_df(a: ArmMoments, b: ArmMoments) -> float:
    """Welch–Satterthwaite degrees of freedom from the arms' per-unit variances."""
    num = (b.variance / b.n + a.variance / a.n) ** 2
    den = (b.variance**2 / (b.n**2 * (b.n - 1))
           + a.variance**2 / (a.n**2 * (a.n - 1)))
    return num / den


@dataclass(frozen=True)
class FrequentistResult:
    """A frequentist comparison of treatment against control (relative or absolute effect).

    For one-sided tests the open end of the interval is ±inf. ``error`` is set (and the
    numbers are gbstats' uninformative defaults: 0, (0, 0), p = 1) when the test cannot be
    computed.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    df: float
    control_mean: float
    treatment_mean: float
    relative: bool
    alternative: str
    sequential: bool
    theta: float | None = None
    error: str | None = None




def frequentist_test(
    control: Stats,
    treatment: Stats,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    sequential_tuning: int | None = None,
) -> FrequentistResult:
    """Welch's t-test of treatment against control, or the always-valid sequential test.

    ``alternative`` is about treatment vs control: "greater" tests m_B > m_A. An int
    ``sequential_tuning`` (N*, the expected total sample) turns on the Waudby-Smith
    asymptotic confidence sequence with N = n_A + n_B.
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be two-sided, greater or less, not {alternative!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    if sequential_tuning is not None and sequential_tuning <= 0:
        raise ValueError("sequential_tuning (N*) must be positive")
    comparison = compare(control, treatment, relative=relative)
    a, b = comparison.control, comparison.treatment
    sequential = sequential_tuning is not None
    common = {"control_mean": a.unadjusted_mean, "treatment_mean": b.unadjusted_mean,
              "relative": relative, "alternative": alternative, "sequential": sequential,
              "theta": comparison.theta}
    problem = untestable_reason(comparison, relative)
    if problem:
        return FrequentistResult(0.0, 0.0, 0.0, 0.0, 1.0, 0.0, error=problem, **common)
    estimate = comparison.estimate
    se = math.sqrt(comparison.variance)
    df = welch_df(a, b)
    if sequential:
        n = a.n + b.n
        two_sided = alternative == "two-sided"
        width = sequential_halfwidth(se, n, alpha, sequential_tuning, two_sided=two_sided)
        p_value = sequential_p_value(estimate, se, n, alpha, sequential_tuning, alternative)
    else:
        t_stat = estimate / se
        if alternative == "two-sided":
            p_value = 2 * t_sf(abs(t_stat), df)
            width = t_ppf(1 - alpha / 2, df) * se
        else:
            p_value = t_sf(t_stat, df) if alternative == "greater" else t_sf(-t_stat, df)
            width = t_ppf(1 - alpha, df) * se
    low, high = estimate - width, estimate + width
    if alternative == "greater":
        high = math.inf
    elif alternative == "less":
        low = -math.inf
    return FrequentistResult(estimate, se, low, high, p_value, df, **common)
