"""The Waudby-Smith asymptotic confidence sequence: ρ, the half-width, the always-valid
p-value, and the critical value used by sequential power."""

from __future__ import annotations

import math
from typing import Literal

Alternative = Literal["two-sided", "greater", "less"]
DEFAULT_SEQUENTIAL_TUNING = 5000


def sequential_rho(alpha: float, tuning: float) -> float:
    """ρ = √((−2 ln α + ln(−2 ln α + 1)) / N*)."""
    log_alpha = math.log(alpha)
    return math.sqrt((-2 * log_alpha + math.log(-2 * log_alpha + 1)) / tuning)


def sequential_halfwidth(se: float, n: int, alpha: float, tuning: float,
                         *, two_sided: bool = True) -> float:
    """Half-width of the Waudby-Smith asymptotic confidence sequence at total sample ``n``.

    two-sided: √(s²) √(2(Nρ²+1)/(N²ρ²) · ln(√(Nρ²+1)/α)), ρ from α;
    one-sided: √(s² · 2(Nρ²+1)/(N²ρ²) · ln(1 + √(Nρ²+1)/(2α))), ρ from 2α;
    with s² = se² N, the per-observation analogue of the estimate's variance.
    """
    rho = sequential_rho(alpha if two_sided else 2 * alpha, tuning)
    s2 = se**2 * n
    nr2 = n * rho**2
    if two_sided:
        return math.sqrt(s2) * math.sqrt(2 * (nr2 + 1) / (n * rho) ** 2
                                         * math.log(math.sqrt(nr2 + 1) / alpha))
    return math.sqrt(s2 * 2 * (nr2 + 1) / (n * rho) ** 2
                     * math.log(1 + math.sqrt(nr2 + 1) / (2 * alpha)))


def sequential_p_value(estimate: float, se: float, n: int, alpha: float, tuning: float,
                        alternative: Alternative) -> float:
    """The always-valid p-value: the smallest α' at which the sequence excludes 0 (ρ fixed
    at the configured α), in closed form."""
    if alternative == "two-sided":
        rho = sequential_rho(alpha, tuning)
        nr2 = n * rho**2
        st2 = estimate**2 * n / se**2
        return min(1.0, math.sqrt(nr2 + 1) * math.exp(-(rho**2) * st2 / (2 * (nr2 + 1))))
    right_side = estimate > 0 if alternative == "greater" else estimate < 0
    if not right_side:
        return 1.0
    rho = sequential_rho(2 * alpha, tuning)
    nr2 = n * rho**2
    exponent = estimate**2 * nr2 / (2 * se**2 * (nr2 + 1))
    if exponent > 700:
        return 0.0
    return min(1.0, math.sqrt(nr2 + 1) / (2 * math.expm1(exponent)))


def sequential_critical_value(n_total_two_arms: float, alpha: float, tuning: float) -> float:
    """Where the two-sided sequential test rejects, in units of the estimate's standard error:
    c = √(N·D(N)), D(N) = 2(Nρ²+1)/(N²ρ²) ln(√(Nρ²+1)/α), N the two compared arms' sample
    (the half-width of :func:`sequential_halfwidth` is c·se). It plays the role z_{1−α/2}
    plays for the fixed-horizon test in power and sample-size planning."""
    rho = sequential_rho(alpha, tuning)
    n = n_total_two_arms
    d = 2 * (n * rho**2 + 1) / (n * rho) ** 2 * math.log(math.sqrt(n * rho**2 + 1) / alpha)
    return math.sqrt(n * d)
