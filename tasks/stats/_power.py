"""Planning: power, minimum detectable effect and required sample size (GrowthBook's formulas)."""

from __future__ import annotations

import math

from scipy import optimize

from flywheel.tasks.stats._sequential import sequential_inflation
from flywheel.tasks.stats._special import norm_cdf, norm_ppf


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
    sequential: se² × N·D(N)/z², N = 2n; power = 1 − Φ(z − Δ/se) + Φ(−z − Δ/se).
    """
    _check_planning(mean, variance, n_variations, alpha)
    per_arm = n_total / n_variations
    if per_arm <= 0:
        return 0.0
    mean_b = mean * (1 + relative_effect)
    se2 = variance / (mean**2 * per_arm) + variance * mean_b**2 / (mean**4 * per_arm)
    if sequential_tuning is not None:
        se2 *= sequential_inflation(2 * per_arm, alpha, sequential_tuning)
    z = norm_ppf(1 - alpha / 2)
    standardized = relative_effect / math.sqrt(se2)
    return norm_cdf(standardized - z) + norm_cdf(-z - standardized)


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
    closed form): with k = z_{1−α/2} − z_{1−π} and s² = σ²/n (σ² inflated by N·D(N)/z² when
    sequential), μ_B solves μ_B²(1 − k²s²/μ²) − 2μ μ_B + (μ² − k²s²) = 0; MDE = μ_B/μ − 1.
    ``inf`` when no effect reaches that power at this sample (n ≤ σ²k²/μ²)."""
    _check_planning(mean, variance, n_variations, alpha)
    if not alpha < target_power < 1:
        raise ValueError("target_power must be between alpha and 1")
    per_arm = n_total / n_variations
    if per_arm <= 0:
        return math.inf
    k = norm_ppf(1 - alpha / 2) - norm_ppf(1 - target_power)
    v = variance
    if sequential_tuning is not None:
        v = variance * sequential_inflation(2 * per_arm, alpha, sequential_tuning)
    if per_arm <= v * k**2 / mean**2:
        return math.inf
    s2 = v / per_arm
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


def _check_planning(mean: float, variance: float, n_variations: int, alpha: float) -> None:
    if mean == 0:
        raise ValueError("mean must be non-zero for a relative effect")
    if variance < 0:
        raise ValueError("variance must be >= 0")
    if n_variations < 2:
        raise ValueError("n_variations must be at least 2")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
