"""Statistics for A/B tests on sufficient statistics (CONTRACTS §4). Pure math: no I/O.

The formulas follow the GrowthBook stats engine (gbstats) so that every number can be
cross-checked against it; ``docs/statistics.md`` writes each one out. In short:

* an arm is summarised by sufficient statistics (:class:`MeanStats`, :class:`BinomialStats`,
  :class:`RatioStats`, :class:`CupedStats`, and the extensions :class:`CupedRatioStats` and
  :class:`QuantileStats`), from which it has ``n``, a mean and a per-unit variance;
* the effect of a treatment over the control is absolute (m_B − m_A) or relative
  ((m_B − m_A)/|m_A|, delta-method variance v_B/(m_A² n_B) + v_A m_B²/(m_A⁴ n_A));
* :func:`frequentist_test` is Welch's t-test (Welch–Satterthwaite df), or with
  ``sequential_tuning`` the Waudby-Smith asymptotic confidence sequence;
* :func:`bayesian_test` puts a flat or normal prior on the effect;
* :func:`srm_p_value`, :func:`holm_bonferroni`, :func:`benjamini_hochberg`, :func:`power`,
  :func:`minimum_detectable_effect`, :func:`required_sample_size` and :func:`assign_variant`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, special

# scipy.special's distribution functions (the ones scipy.stats calls underneath), used directly:
# the nightly run evaluates thousands of them and the frozen-distribution overhead dominates.
_SQRT_2PI = math.sqrt(2 * math.pi)


def _t_sf(x: float, df: float) -> float:
    return float(special.stdtr(df, -x))


def _t_ppf(q: float, df: float) -> float:
    return float(special.stdtrit(df, q))


def _norm_cdf(x: float) -> float:
    return float(special.ndtr(x))


def _norm_ppf(q: float) -> float:
    return float(special.ndtri(q))


def _norm_pdf(x: float) -> float:
    return math.exp(-x * x / 2) / _SQRT_2PI

Alternative = Literal["two-sided", "greater", "less"]
DEFAULT_SEQUENTIAL_TUNING = 5000
_RATIO_THETA_EPSILON = 1e-8


# --------------------------------------------------------------------------------------------
# Sufficient statistics of one arm
# --------------------------------------------------------------------------------------------


def _sample_variance(n: int, total: float, sum_squares: float) -> float:
    """Unbiased (n − 1) variance from a sum and a sum of squares."""
    if n <= 1:
        return 0.0
    return (sum_squares - total * total / n) / (n - 1)


def _sample_covariance(n: int, sum_x: float, sum_y: float, sum_xy: float) -> float:
    if n <= 1:
        return 0.0
    return (sum_xy - sum_x * sum_y / n) / (n - 1)


def _variance_of_ratio(
    mean_num: float, var_num: float, mean_den: float, var_den: float, cov: float
) -> float:
    """Delta-method variance of M/D: var_M/d² + var_D m²/d⁴ − 2 cov m/d³."""
    if mean_den == 0:
        return 0.0
    return (
        var_num / mean_den**2
        + var_den * mean_num**2 / mean_den**4
        - 2 * cov * mean_num / mean_den**3
    )


@dataclass(frozen=True)
class MeanStats:
    """A mean metric: per unit values x_i, summarised as n, Σx, Σx². Variance uses n − 1."""

    n: int
    sum: float
    sum_squares: float

    @property
    def mean(self) -> float:
        """Σx / n (0 without units)."""
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """(Σx² − (Σx)²/n) / (n − 1)."""
        return _sample_variance(self.n, self.sum, self.sum_squares)


@dataclass(frozen=True)
class BinomialStats:
    """A proportion metric: n units of which ``successes`` converted. Variance p(1 − p)."""

    n: int
    successes: int

    @property
    def mean(self) -> float:
        """p = successes / n (0 without units)."""
        return self.successes / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """p (1 − p)."""
        p = self.mean
        return p * (1 - p)


@dataclass(frozen=True)
class RatioStats:
    """A ratio metric Σnum/Σden over units (e.g. thumbs up / thumbs given per user).

    The per-unit variance is the delta-method variance of the ratio of the unit means.
    """

    n: int
    num_sum: float
    num_sum_squares: float
    den_sum: float
    den_sum_squares: float
    num_den_sum_product: float

    @property
    def mean(self) -> float:
        """Σnum / Σden (0 when Σden is 0)."""
        return self.num_sum / self.den_sum if self.den_sum else 0.0

    @property
    def variance(self) -> float:
        """Delta method: var_M/d̄² + var_D m̄²/d̄⁴ − 2 cov m̄/d̄³ (unit means m̄, d̄)."""
        if self.n <= 1 or self.den_sum == 0:
            return 0.0
        return _variance_of_ratio(
            self.num_sum / self.n,
            _sample_variance(self.n, self.num_sum, self.num_sum_squares),
            self.den_sum / self.n,
            _sample_variance(self.n, self.den_sum, self.den_sum_squares),
            _sample_covariance(self.n, self.num_sum, self.den_sum, self.num_den_sum_product),
        )


@dataclass(frozen=True)
class CupedStats:
    """A mean (or binomial) metric with its pre-experiment covariate, for CUPED.

    ``post_sum_squares``/``pre_sum_squares`` None means that part is binomial (0/1 values):
    its variance is p(1 − p), as in gbstats' ProportionStatistic.
    """

    n: int
    post_sum: float
    post_sum_squares: float | None
    pre_sum: float
    pre_sum_squares: float | None
    post_pre_sum_product: float


@dataclass(frozen=True)
class CupedRatioStats:
    """A ratio metric with the same ratio measured before the experiment (regression-adjusted
    ratio, gbstats' RegressionAdjustedRatioStatistic). Sums and sums of squares of the
    numerator/denominator after (``m``, ``d``) and before (``m_pre``, ``d_pre``), and the six
    cross products."""

    n: int
    m_sum: float
    m_sum_squares: float
    d_sum: float
    d_sum_squares: float
    m_pre_sum: float
    m_pre_sum_squares: float
    d_pre_sum: float
    d_pre_sum_squares: float
    m_d_sum_product: float
    m_m_pre_sum_product: float
    m_d_pre_sum_product: float
    d_m_pre_sum_product: float
    d_d_pre_sum_product: float
    m_pre_d_pre_sum_product: float


@dataclass(frozen=True)
class QuantileStats:
    """A quantile (e.g. p95 latency) of one arm's events, with the order-statistic interval.

    ``quantile`` is the sample ν-quantile of ``n`` events; ``lower``/``upper`` are the order
    statistics at ranks n*(ν ∓ z₀.₉₇₅ √(ν(1−ν)/n*)) (``n_star`` ≤ n, default n). When events
    are clustered in units (requests within users), the ``cluster_*`` sums describe, per unit
    i, S_i = events at or below the quantile and N_i = events: the variance is then inflated
    by the design effect of the indicator mean (Deng, Knoblich & Lu 2018; gbstats'
    QuantileClusteredStatistic).
    """

    n: int
    nu: float
    quantile: float
    lower: float
    upper: float
    n_star: int | None = None
    cluster_n: int | None = None
    cluster_ind_sum: float = 0.0
    cluster_ind_sum_squares: float = 0.0
    cluster_count_sum: float = 0.0
    cluster_count_sum_squares: float = 0.0
    cluster_ind_count_sum_product: float = 0.0


Stats = MeanStats | BinomialStats | RatioStats | CupedStats | CupedRatioStats | QuantileStats


@dataclass(frozen=True)
class ArmMoments:
    """What a test needs of one arm: n, the (adjusted) mean, the unadjusted mean, variance."""

    n: int
    mean: float
    unadjusted_mean: float
    variance: float


def _quantile_moments(s: QuantileStats) -> ArmMoments:
    z = _norm_ppf(0.975)
    n_star = s.n_star or s.n
    if s.n <= 1:
        return ArmMoments(s.n, s.quantile, s.quantile, 0.0)
    variance = (n_star / s.n) * (s.n - 1) * ((s.upper - s.lower) / (2 * z)) ** 2
    if s.cluster_n is not None and s.cluster_n > 1 and s.cluster_count_sum > 0 and s.nu > 0:
        k = s.cluster_n
        mean_s = s.cluster_ind_sum / k
        mean_n = s.cluster_count_sum / k
        var_s = _sample_variance(k, s.cluster_ind_sum, s.cluster_ind_sum_squares)
        var_n = _sample_variance(k, s.cluster_count_sum, s.cluster_count_sum_squares)
        cov = _sample_covariance(k, s.cluster_ind_sum, s.cluster_count_sum,
                                 s.cluster_ind_count_sum_product)
        v_cluster = (var_s - 2 * mean_s * cov / mean_n + mean_s**2 * var_n / mean_n**2) / (
            k * mean_n**2)
        v_iid = s.nu * (1 - s.nu) / s.n
        variance *= v_cluster / v_iid
    elif s.cluster_n is not None:
        variance = 0.0
    if s.n >= 100:
        variance = max(variance, 1e-5)
    return ArmMoments(s.n, s.quantile, s.quantile, variance)


def arm_moments(stats: MeanStats | BinomialStats | RatioStats | QuantileStats) -> ArmMoments:
    """n, mean and per-unit variance of one arm (CUPED statistics need both arms: see
    :func:`adjusted_moments`)."""
    if isinstance(stats, QuantileStats):
        return _quantile_moments(stats)
    if isinstance(stats, MeanStats | BinomialStats | RatioStats):
        return ArmMoments(stats.n, stats.mean, stats.mean, stats.variance)
    raise TypeError(f"arm_moments: unsupported statistics {type(stats).__name__}")


def _part(n: int, total: float, sum_squares: float | None) -> tuple[float, float, bool]:
    """(mean, variance, is_binomial) of one side of a CUPED statistic."""
    mean = total / n if n else 0.0
    if sum_squares is None:
        return mean, mean * (1 - mean), True
    return mean, _sample_variance(n, total, sum_squares), False


def _cuped_covariance(n: int, s: CupedStats) -> float:
    if n <= 1:
        return 0.0
    if s.post_sum_squares is None and s.pre_sum_squares is None:
        return s.post_pre_sum_product / n - s.post_sum * s.pre_sum / n**2
    return _sample_covariance(n, s.post_sum, s.pre_sum, s.post_pre_sum_product)


def cuped_theta(a: CupedStats, b: CupedStats) -> float:
    """θ = Cov(post, pre) / Var(pre), pooled over both arms (one statistic of n_A + n_B units);
    0 when either pooled variance is 0."""
    pooled = CupedStats(
        n=a.n + b.n,
        post_sum=a.post_sum + b.post_sum,
        post_sum_squares=None if a.post_sum_squares is None or b.post_sum_squares is None
        else a.post_sum_squares + b.post_sum_squares,
        pre_sum=a.pre_sum + b.pre_sum,
        pre_sum_squares=None if a.pre_sum_squares is None or b.pre_sum_squares is None
        else a.pre_sum_squares + b.pre_sum_squares,
        post_pre_sum_product=a.post_pre_sum_product + b.post_pre_sum_product,
    )
    _, var_post, _ = _part(pooled.n, pooled.post_sum, pooled.post_sum_squares)
    _, var_pre, _ = _part(pooled.n, pooled.pre_sum, pooled.pre_sum_squares)
    if var_pre <= 0 or var_post <= 0:
        return 0.0
    return _cuped_covariance(pooled.n, pooled) / var_pre


def _cuped_moments(s: CupedStats, theta: float) -> ArmMoments:
    post_mean, var_post, _ = _part(s.n, s.post_sum, s.post_sum_squares)
    pre_mean, var_pre, _ = _part(s.n, s.pre_sum, s.pre_sum_squares)
    if s.n <= 1:
        return ArmMoments(s.n, post_mean - theta * pre_mean, post_mean, 0.0)
    variance = var_post + theta**2 * var_pre - 2 * theta * _cuped_covariance(s.n, s)
    return ArmMoments(s.n, post_mean - theta * pre_mean, post_mean, variance)


def _ratio_cuped_parts(s: CupedRatioStats) -> tuple[np.ndarray, np.ndarray]:
    """Means (m, d, m_pre, d_pre) and their 4×4 unit covariance matrix."""
    n = s.n
    sums = np.array([s.m_sum, s.d_sum, s.m_pre_sum, s.d_pre_sum], dtype=float)
    squares = [s.m_sum_squares, s.d_sum_squares, s.m_pre_sum_squares, s.d_pre_sum_squares]
    products = {
        (0, 1): s.m_d_sum_product, (0, 2): s.m_m_pre_sum_product,
        (0, 3): s.m_d_pre_sum_product, (1, 2): s.d_m_pre_sum_product,
        (1, 3): s.d_d_pre_sum_product, (2, 3): s.m_pre_d_pre_sum_product,
    }
    cov = np.zeros((4, 4))
    for i in range(4):
        cov[i, i] = _sample_variance(n, sums[i], squares[i])
    for (i, j), product in products.items():
        cov[i, j] = cov[j, i] = _sample_covariance(n, sums[i], sums[j], product)
    return sums / n if n else sums * 0.0, cov


def _ratio_cuped_gradient(means: np.ndarray, theta: float) -> np.ndarray:
    m, d, m_pre, d_pre = means
    if d == 0 or d_pre == 0:
        return np.zeros(4)
    return np.array([1 / d, -m / d**2, -theta / d_pre, theta * m_pre / d_pre**2])


def cuped_ratio_theta(a: CupedRatioStats, b: CupedRatioStats) -> float:
    """θ for a regression-adjusted ratio: Σ_arms Cov(R_post, R_pre) / Σ_arms Var(R_pre), each
    by the delta method (gbstats' compute_theta_regression_adjusted_ratio)."""
    cov_sum = var_sum = 0.0
    for s in (a, b):
        means, cov = _ratio_cuped_parts(s)
        g = _ratio_cuped_gradient(means, 1.0)
        var_sum += float(g[2:] @ cov[2:, 2:] @ g[2:])
        cov_sum += float(g[2:] @ cov[2:, :2] @ g[:2])
    if var_sum == 0:
        return 0.0
    return -cov_sum / var_sum


def _ratio_cuped_moments(s: CupedRatioStats, theta: float) -> ArmMoments:
    means, cov = _ratio_cuped_parts(s)
    m, d, m_pre, d_pre = means
    post = m / d if d else 0.0
    pre = m_pre / d_pre if d_pre else 0.0
    g = _ratio_cuped_gradient(means, theta)
    variance = float(g @ cov @ g) if s.n > 1 else 0.0
    adjusted = post - theta * pre if d and d_pre else 0.0
    return ArmMoments(s.n, adjusted, post, variance)


def _ratio_of(s: CupedRatioStats) -> RatioStats:
    return RatioStats(s.n, s.m_sum, s.m_sum_squares, s.d_sum, s.d_sum_squares, s.m_d_sum_product)


@dataclass(frozen=True)
class Comparison:
    """Both arms' moments (CUPED-adjusted with one pooled θ when both are CUPED statistics),
    the effect estimate and its variance."""

    control: ArmMoments
    treatment: ArmMoments
    theta: float | None
    estimate: float
    variance: float


def _relative_variance_cuped(a: CupedStats, b: CupedStats, theta: float) -> float:
    """gbstats' delta method for (adj_B − adj_A)/|A|, A the control's unadjusted mean:
    Var_B(post − θ pre)/(n_B A²) + [Var_A(post) B²/A² − 2θ Cov_A B/A + θ² Var_A(pre)]/(n_A A²)."""
    a_post, a_var_post, _ = _part(a.n, a.post_sum, a.post_sum_squares)
    _, a_var_pre, _ = _part(a.n, a.pre_sum, a.pre_sum_squares)
    b_moments = _cuped_moments(b, theta)
    b_post = b_moments.unadjusted_mean
    treatment_part = b_moments.variance / (b.n * a_post**2)
    control_part = (a_var_post * b_post**2 / a_post**2
                    - 2 * theta * _cuped_covariance(a.n, a) * b_post / a_post
                    + theta**2 * a_var_pre) / (a.n * a_post**2)
    return treatment_part + control_part


def _relative_variance_cuped_ratio(a: CupedRatioStats, b: CupedRatioStats, theta: float) -> float:
    """gbstats' delta method for the relative effect of regression-adjusted ratios: the
    gradient of (adj_B − adj_A)/|R_A| in the four means of each arm, through each arm's 4×4
    covariance matrix."""
    a_means, a_cov = _ratio_cuped_parts(a)
    b_means, b_cov = _ratio_cuped_parts(b)
    a_m = _ratio_cuped_moments(a, theta)
    b_m = _ratio_cuped_moments(b, theta)
    base = abs(a_m.unadjusted_mean)
    g_abs = b_m.mean - a_m.mean
    m_a, d_a = a_means[0], a_means[1]
    grad_a_raw = _ratio_cuped_gradient(a_means, theta)
    grad_a = np.array([
        -(base + g_abs) / d_a / base**2,
        m_a * (base + g_abs) / d_a**2 / base**2,
        -grad_a_raw[2] / base,
        -grad_a_raw[3] / base,
    ])
    grad_b = _ratio_cuped_gradient(b_means, theta) / base
    return float(grad_a @ a_cov @ grad_a / a.n + grad_b @ b_cov @ grad_b / b.n)


def adjusted_moments(
    control: Stats, treatment: Stats
) -> tuple[ArmMoments, ArmMoments, float | None]:
    """The two arms' moments, CUPED-adjusted with one θ pooled over both arms when both are
    CUPED statistics. Returns (control, treatment, θ or None when no adjustment was made)."""
    if isinstance(control, CupedStats) and isinstance(treatment, CupedStats):
        theta = cuped_theta(control, treatment)
        if theta == 0:
            plain = [_cuped_moments(s, 0.0) for s in (control, treatment)]
            return plain[0], plain[1], None
        return _cuped_moments(control, theta), _cuped_moments(treatment, theta), theta
    if isinstance(control, CupedRatioStats) and isinstance(treatment, CupedRatioStats):
        theta = cuped_ratio_theta(control, treatment)
        if abs(theta) < _RATIO_THETA_EPSILON:
            return arm_moments(_ratio_of(control)), arm_moments(_ratio_of(treatment)), None
        return (_ratio_cuped_moments(control, theta), _ratio_cuped_moments(treatment, theta),
                theta)
    if type(control) is not type(treatment):
        raise TypeError(
            f"control and treatment statistics differ: {type(control).__name__} vs "
            f"{type(treatment).__name__}"
        )
    return arm_moments(control), arm_moments(treatment), None  # type: ignore[arg-type]


def compare(control: Stats, treatment: Stats, *, relative: bool) -> Comparison:
    """Moments of both arms and the effect of treatment over control with its variance."""
    a, b, theta = adjusted_moments(control, treatment)
    if a.n < 1 or b.n < 1 or (relative and a.unadjusted_mean == 0):
        return Comparison(a, b, theta, 0.0, 0.0)
    estimate, variance = effect(a, b, relative=relative)
    if relative and theta is not None:
        if isinstance(control, CupedStats) and isinstance(treatment, CupedStats):
            variance = _relative_variance_cuped(control, treatment, theta)
        elif isinstance(control, CupedRatioStats) and isinstance(treatment, CupedRatioStats):
            variance = _relative_variance_cuped_ratio(control, treatment, theta)
    return Comparison(a, b, theta, estimate, variance)


# --------------------------------------------------------------------------------------------
# Effects and tests
# --------------------------------------------------------------------------------------------


def effect(a: ArmMoments, b: ArmMoments, *, relative: bool) -> tuple[float, float]:
    """(estimate, variance of the estimate) of treatment ``b`` over control ``a``.

    absolute: m_B − m_A, v_B/n_B + v_A/n_A.
    relative: (m_B − m_A)/|ū_A|, v_B/(ū_A² n_B) + v_A ū_B²/(ū_A⁴ n_A), with ū the unadjusted
    means (equal to m without CUPED).
    """
    if relative:
        base = a.unadjusted_mean
        estimate = (b.mean - a.mean) / abs(base)
        variance = (b.variance / (base**2 * b.n)
                    + a.variance * b.unadjusted_mean**2 / (base**4 * a.n))
        return estimate, variance
    return b.mean - a.mean, b.variance / b.n + a.variance / a.n


def welch_df(a: ArmMoments, b: ArmMoments) -> float:
    """Welch–Satterthwaite degrees of freedom from the arms' per-unit variances."""
    num = (b.variance / b.n + a.variance / a.n) ** 2
    den = (b.variance**2 / (b.n**2 * (b.n - 1))
           + a.variance**2 / (a.n**2 * (a.n - 1)))
    return num / den


def _problem(a: ArmMoments, b: ArmMoments, relative: bool) -> str | None:
    if a.n < 2 or b.n < 2:
        return "each arm needs at least 2 units"
    if a.variance <= 0 or b.variance <= 0:
        return "zero or negative variance in an arm"
    if relative and a.unadjusted_mean == 0:
        return "control mean is 0: no relative effect"
    return None


def _bad_variance(variance: float) -> str | None:
    return None if variance > 0 and math.isfinite(variance) else "effect variance is not positive"


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


def _sequential_p_value(estimate: float, se: float, n: int, alpha: float, tuning: float,
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
    problem = _problem(a, b, relative) or _bad_variance(comparison.variance)
    if problem:
        return FrequentistResult(0.0, 0.0, 0.0, 0.0, 1.0, 0.0, error=problem, **common)
    estimate = comparison.estimate
    se = math.sqrt(comparison.variance)
    df = welch_df(a, b)
    if sequential:
        n = a.n + b.n
        two_sided = alternative == "two-sided"
        width = sequential_halfwidth(se, n, alpha, sequential_tuning, two_sided=two_sided)
        p_value = _sequential_p_value(estimate, se, n, alpha, sequential_tuning, alternative)
    else:
        t_stat = estimate / se
        if alternative == "two-sided":
            p_value = 2 * _t_sf(abs(t_stat), df)
            width = _t_ppf(1 - alpha / 2, df) * se
        else:
            p_value = _t_sf(t_stat, df) if alternative == "greater" else _t_sf(-t_stat, df)
            width = _t_ppf(1 - alpha, df) * se
    low, high = estimate - width, estimate + width
    if alternative == "greater":
        high = math.inf
    elif alternative == "less":
        low = -math.inf
    return FrequentistResult(estimate, se, low, high, p_value, df, **common)


def normal_risk(mean: float, sd: float) -> tuple[float, float]:
    """(E[max(X, 0)], E[max(−X, 0)]) for X ~ N(mean, sd²): the expected loss of keeping the
    control, and of shipping the treatment."""
    z = mean / sd
    density = _norm_pdf(z)
    return (mean * _norm_cdf(z) + sd * density, -mean * _norm_cdf(-z) + sd * density)


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
    problem = _problem(a, b, relative) or _bad_variance(comparison.variance)
    if problem:
        return BayesianResult(0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, error=problem, **common)
    data_mean, data_variance = comparison.estimate, comparison.variance
    if prior_variance is not None:
        precision = 1 / data_variance + 1 / prior_variance
        mean = (data_mean / data_variance + (prior_mean or 0.0) / prior_variance) / precision
        sd = math.sqrt(1 / precision)
    else:
        mean, sd = data_mean, math.sqrt(data_variance)
    win = _norm_cdf(mean / sd)
    quantile = _norm_ppf(1 - alpha / 2)
    low, high = mean - quantile * sd, mean + quantile * sd
    risk_control, risk_treatment = normal_risk(mean, sd)
    if inverse:
        win = 1 - win
        risk_control, risk_treatment = risk_treatment, risk_control
    return BayesianResult(mean, sd, low, high, win, risk_control, risk_treatment, **common)


# --------------------------------------------------------------------------------------------
# Sample ratio, multiple testing
# --------------------------------------------------------------------------------------------


def srm_p_value(observed: Sequence[int], weights: Sequence[float]) -> float:
    """Pearson's χ² test of observed units per arm against the configured weights.

    Arms with weight 0 are left out of the statistic; df = (arms with weight > 0) − 1.
    1.0 when nothing was observed.
    """
    if len(observed) != len(weights):
        raise ValueError("srm_p_value: one weight per arm")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("srm_p_value: weights must be >= 0 with a positive sum")
    total = float(sum(observed))
    if total <= 0:
        return 1.0
    weight_sum = float(sum(weights))
    statistic = 0.0
    arms = 0
    for count, weight in zip(observed, weights, strict=True):
        if weight <= 0:
            continue
        arms += 1
        expected = weight / weight_sum * total
        statistic += (count - expected) ** 2 / expected
    if arms < 2:
        return 1.0
    return float(special.chdtrc(arms - 1, statistic))


def _check_p_values(p_values: Sequence[float]) -> np.ndarray:
    values = np.asarray(p_values, dtype=float)
    if values.ndim != 1 or np.any(np.isnan(values)) or np.any((values < 0) | (values > 1)):
        raise ValueError("p-values must be numbers in [0, 1]")
    return values


def holm_bonferroni(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in input order:
    p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))."""
    values = _check_p_values(p_values)
    m = len(values)
    if m == 0:
        return []
    order = np.argsort(values, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * values[order])
    adjusted = np.maximum.accumulate(scaled)
    out = np.empty(m)
    out[order] = adjusted
    return [float(x) for x in out]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in input order:
    p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j)."""
    values = _check_p_values(p_values)
    m = len(values)
    if m == 0:
        return []
    order = np.argsort(values, kind="stable")
    scaled = np.minimum(1.0, m * values[order] / np.arange(1, m + 1))
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = adjusted
    return [float(x) for x in out]


# --------------------------------------------------------------------------------------------
# Power and sample size
# --------------------------------------------------------------------------------------------


def _sequential_inflation(n_total_two_arms: float, alpha: float, tuning: float) -> float:
    """Factor by which the sequential test widens the variance: N·D(N)/z²_{1−α/2}, with
    D(N) = 2(Nρ²+1)/(N²ρ²) ln(√(Nρ²+1)/α) and N the two compared arms' sample."""
    rho = sequential_rho(alpha, tuning)
    n = n_total_two_arms
    d = 2 * (n * rho**2 + 1) / (n * rho) ** 2 * math.log(math.sqrt(n * rho**2 + 1) / alpha)
    return n * d / _norm_ppf(1 - alpha / 2) ** 2


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
        se2 *= _sequential_inflation(2 * per_arm, alpha, sequential_tuning)
    z = _norm_ppf(1 - alpha / 2)
    standardized = relative_effect / math.sqrt(se2)
    return _norm_cdf(standardized - z) + _norm_cdf(-z - standardized)


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
    k = _norm_ppf(1 - alpha / 2) - _norm_ppf(1 - target_power)
    v = variance
    if sequential_tuning is not None:
        v = variance * _sequential_inflation(2 * per_arm, alpha, sequential_tuning)
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


# --------------------------------------------------------------------------------------------
# Assignment
# --------------------------------------------------------------------------------------------


def assign_variant(
    experiment: str, unit_id: str, variants: Sequence[str], weights: Sequence[float] | None = None
) -> str:
    """The variant a unit is assigned to: md5 of ``experiment:unit_id`` bucketed by weight.

    bucket = int(md5(f"{experiment}:{unit_id}").hexdigest()[:8], 16) / 0xFFFFFFFF; the first
    variant whose cumulative normalized weight exceeds the bucket (the last one if none does).
    """
    if not variants:
        raise ValueError("assign_variant needs at least one variant")
    if weights is None:
        weights = [1.0] * len(variants)
    if len(weights) != len(variants):
        raise ValueError("assign_variant: one weight per variant")
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise ValueError("assign_variant: weights must be >= 0 with a positive sum")
    bucket = int(hashlib.md5(f"{experiment}:{unit_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    cumulative = 0.0
    for variant, weight in zip(variants, weights, strict=True):
        cumulative += weight / total
        if cumulative > bucket:
            return variant
    return variants[-1]


def cumulative_weights(weights: Sequence[float]) -> list[float]:
    """The cumulative normalized weights exactly as :func:`assign_variant` computes them (so a
    SQL re-implementation can compare a bucket against the same floats)."""
    total = float(sum(weights))
    out, cumulative = [], 0.0
    for weight in weights:
        cumulative += weight / total
        out.append(cumulative)
    return out
