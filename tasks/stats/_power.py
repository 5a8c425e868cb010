"""Planning: power, minimum detectable effect and required sample size (GrowthBook's formulas)."""

from __future__ import annotations

import math

from scipy import optimize

from flywheel.tasks.stats._sequential import sequential_critical_value
from flywheel.tasks.stats._special import norm_cdf, norm_ppf


def critical_value(per_arm: float, alpha: float, sequential_tuning: int | None) -> float:
    """Where the two-sided test rejects, in standard errors of the estimate: z_{1−α/2} for the
    fixed-horizon test, c = √(N·D(N)) with N = 2·per_arm for the sequential one."""
    if sequential_tuning is None:
        return norm_ppf(1 - alpha / 2)
    return sequential_critical_value(2 * per_arm, alpha, sequential_tuning)


def power(
    mean: float,
    variance: float,
    relative_effect: float,
    n_total: float,
    *,
    n_variations: int = 2,
    alpha: float = 0.05,
    sequential_tuning: int | None = None,
) -> float:
    """Power of the two-sided test to detect ``relative_effect`` with ``n_total`` units split
    equally over ``n_variations`` arms (GrowthBook's power formula):

    se² = σ²/(n μ²) + σ² μ_B²/(n μ⁴) with n = n_total/n_variations, μ_B = μ(1 + Δ);
    power = Φ(Δ/se − c) + Φ(−Δ/se − c), c = z_{1−α/2}, or for the sequential test the point
    where its confidence sequence excludes 0, c = √(N·D(N)), N = 2n.
    """
    _check_planning(mean, variance, n_variations, alpha)
    _check_number("relative_effect", relative_effect)
    _check_number("n_total", n_total)
    per_arm = n_total / n_variations
    if per_arm <= 0:
        return 0.0
    mean_b = mean * (1 + relative_effect)
    se2 = variance / (mean**2 * per_arm) + variance * mean_b**2 / (mean**4 * per_arm)
    c = critical_value(per_arm, alpha, sequential_tuning)
    if se2 == 0:
        return 1.0 if relative_effect != 0 else 0.0
    standardized = relative_effect / math.sqrt(se2)
    return norm_cdf(standardized - c) + norm_cdf(-standardized - c)


def minimum_detectable_effect(
    mean: float,
    variance: float,
    n_total: float,
    *,
    n_variations: int = 2,
    alpha: float = 0.05,
    target_power: float = 0.8,
    sequential_tuning: int | None = None,
) -> float:
    """The smallest positive relative effect detected with ``target_power`` (GrowthBook's
    closed form): with k = c − z_{1−π} (c as in :func:`power`) and s² = σ²/n, μ_B solves
    μ_B²(1 − k²s²/μ²) − 2μ μ_B + (μ² − k²s²) = 0; MDE = μ_B/μ − 1.
    ``inf`` when no effect reaches that power at this sample (n ≤ σ²k²/μ²)."""
    _check_planning(mean, variance, n_variations, alpha)
    _check_target_power(target_power, alpha)
    _check_number("n_total", n_total)
    per_arm = n_total / n_variations
    if per_arm <= 0:
        return math.inf
    k = critical_value(per_arm, alpha, sequential_tuning) - norm_ppf(1 - target_power)
    if per_arm <= variance * k**2 / mean**2:
        return math.inf
    s2 = variance / per_arm
    a_coef = 1 - k**2 * s2 / mean**2
    b_coef = -2 * mean
    c_coef = mean**2 - k**2 * s2
    root = (-b_coef + math.sqrt(b_coef**2 - 4 * a_coef * c_coef)) / (2 * a_coef)
    return float((root - mean) / mean)


def required_sample_size(
    mean: float,
    variance: float,
    relative_effect: float,
    *,
    n_variations: int = 2,
    alpha: float = 0.05,
    target_power: float = 0.8,
    sequential_tuning: int | None = None,
) -> float:
    """The smallest total sample (all arms) at which :func:`power` reaches ``target_power``
    (found by root finding on the power curve; ``inf`` if no sample does)."""
    _check_planning(mean, variance, n_variations, alpha)
    _check_target_power(target_power, alpha)
    _check_number("relative_effect", relative_effect)
    if relative_effect == 0:
        return math.inf

    def gap(n_total: float) -> float:
        return power(mean, variance, relative_effect, n_total, n_variations=n_variations,
                     alpha=alpha, sequential_tuning=sequential_tuning) - target_power

    low = float(2 * n_variations)
    if gap(low) >= 0:
        return low
    high = low * 2
    while gap(high) < 0:
        high *= 2
        if high > 1e13:
            return math.inf
    return float(math.ceil(optimize.brentq(gap, low, high, xtol=1e-6, rtol=1e-12)))


def _check_number(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")


def _check_planning(mean: float, variance: float, n_variations: int, alpha: float) -> None:
    """A clear ValueError for any input the formulas cannot use (NaN included: a NaN passes
    every ``<`` comparison unnoticed)."""
    _check_number("mean", mean)
    _check_number("variance", variance)
    if mean == 0:
        raise ValueError("mean must be non-zero for a relative effect")
    if variance < 0:
        raise ValueError("variance must be >= 0")
    if n_variations < 2:
        raise ValueError("n_variations must be at least 2")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")


def _check_target_power(target_power: float, alpha: float) -> None:
    if not alpha < target_power < 1:
        raise ValueError(f"target_power must be between alpha ({alpha:g}) and 1, not "
                         f"{target_power!r}")


def sample_to_show_margin(
    worsening: float,
    se: float,
    n_now: float,
    margin: float,
    *,
    alpha: float = 0.05,
    sequential_tuning: int | None = None,
) -> float:
    """The total sample of the two compared arms at which the two-sided interval's bound on the
    harmful side would be within ``margin``, if the effect stays at its current estimate: the
    smallest N with worsening + c(N)·se·√(n_now/N) ≤ margin (``worsening`` is the estimate
    signed so that positive is worse; c as in :func:`power`, per arm N/2). ``inf`` when the
    estimate itself is beyond the margin (no sample shows it); ``n_now`` when already shown."""
    for name, value in (("worsening", worsening), ("se", se), ("n_now", n_now),
                        ("margin", margin)):
        _check_number(name, value)
    if se < 0 or n_now <= 0:
        raise ValueError("se must be >= 0 and n_now > 0")
    if worsening >= margin:
        return math.inf

    def gap(n: float) -> float:
        return worsening + critical_value(n / 2, alpha, sequential_tuning) * se * math.sqrt(
            n_now / n) - margin

    if gap(n_now) <= 0:
        return float(n_now)
    high = n_now * 2
    while gap(high) > 0:
        high *= 2
        if high > 1e13:
            return math.inf
    return float(math.ceil(optimize.brentq(gap, n_now, high, xtol=1e-6, rtol=1e-12)))
