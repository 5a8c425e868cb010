"""The posterior of the effect under a flat or normal prior: chance to win and risk."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flywheel.tasks.stats._cuped import compare, untestable_reason
from flywheel.tasks.stats._special import norm_cdf, norm_pdf, norm_ppf
from flywheel.tasks.stats._sufficient import Stats


@dataclass(frozen=True)
class BayesianResult:
    """The posterior of the effect (normal): mean, sd, credible interval, chance to win, risk."""

    estimate: float
    sd: float
    ci_low: float
    ci_high: float
    chance_to_win: float
    risk_control: float
    risk_treatment: float
    control_mean: float
    treatment_mean: float
    relative: bool
    theta: float | None = None
    error: str | None = None


def normal_risk(mean: float, sd: float) -> tuple[float, float]:
    """(E[max(X, 0)], E[max(−X, 0)]) for X ~ N(mean, sd²): the expected loss of keeping the
    control, and of shipping the treatment."""
    z = mean / sd
    density = norm_pdf(z)
    return (mean * norm_cdf(z) + sd * density, -mean * norm_cdf(-z) + sd * density)


def bayesian_test(
    control: Stats,
    treatment: Stats,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    prior_mean: float | None = None,
    prior_variance: float | None = None,
    inverse: bool = False,
) -> BayesianResult:
    """The posterior of the effect under a flat prior (default) or a normal prior
    N(prior_mean, prior_variance) on the effect (on the scale of ``relative``).

    chance_to_win = P(effect > 0) (P(effect < 0) when ``inverse``: lower is better).
    risk_control = E[loss | keep control], risk_treatment = E[loss | ship treatment].
    """
    if prior_mean is not None and prior_variance is None:
        raise ValueError("prior_mean needs prior_variance (a normal prior)")
    if prior_variance is not None and prior_variance <= 0:
        raise ValueError("prior_variance must be positive")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    comparison = compare(control, treatment, relative=relative)
    a, b = comparison.control, comparison.treatment
    common = {"control_mean": a.unadjusted_mean, "treatment_mean": b.unadjusted_mean,
              "relative": relative, "theta": comparison.theta}
    problem = untestable_reason(comparison, relative)
    if problem:
        return BayesianResult(0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, error=problem, **common)
    data_mean, data_variance = comparison.estimate, comparison.variance
    if prior_variance is not None:
        precision = 1 / data_variance + 1 / prior_variance
        mean = (data_mean / data_variance + (prior_mean or 0.0) / prior_variance) / precision
        sd = math.sqrt(1 / precision)
    else:
        mean, sd = data_mean, math.sqrt(data_variance)
    win = norm_cdf(mean / sd)
    quantile = norm_ppf(1 - alpha / 2)
    low, high = mean - quantile * sd, mean + quantile * sd
    risk_control, risk_treatment = normal_risk(mean, sd)
    if inverse:
        win = 1 - win
        risk_control, risk_treatment = risk_treatment, risk_control
    return BayesianResult(mean, sd, low, high, win, risk_control, risk_treatment, **common)
