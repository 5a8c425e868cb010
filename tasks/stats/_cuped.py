"""CUPED (regression adjustment with the pre-period covariate) for mean, binomial and ratio
statistics, and the comparison of two arms: moments, effect estimate and its variance."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from flywheel.tasks.stats._sufficient import (
    ArmMoments,
    BinomialStats,
    CupedRatioStats,
    CupedStats,
    MeanStats,
    RatioStats,
    Stats,
    arm_moments,
    sample_covariance,
    sample_variance,
)

_RATIO_THETA_EPSILON = 1e-8
ZERO_CONTROL_MEAN = "control mean is 0: no relative effect"  # the test's error, one spelling


def _part(n: int, total: float, sum_squares: float | None) -> tuple[float, float, bool]:
    """(mean, variance, is_binomial) of one side of a CUPED statistic."""
    mean = total / n if n else 0.0
    if sum_squares is None:
        return mean, mean * (1 - mean), True
    return mean, sample_variance(n, total, sum_squares), False


def _cuped_covariance(n: int, s: CupedStats) -> float:
    if n <= 1:
        return 0.0
    if s.post_sum_squares is None and s.pre_sum_squares is None:
        return s.post_pre_sum_product / n - s.post_sum * s.pre_sum / n**2
    return sample_covariance(n, s.post_sum, s.pre_sum, s.post_pre_sum_product)


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
        cov[i, i] = sample_variance(n, sums[i], squares[i])
    for (i, j), product in products.items():
        cov[i, j] = cov[j, i] = sample_covariance(n, sums[i], sums[j], product)
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
    """The delta method for Δ = (adj_B − adj_A)/|A|, A the control's unadjusted mean:
    Var_B(post − θ pre)/(n_B A²) + [Var_A(post) B²/A² − 2θ Cov_A B/A + θ² Var_A(pre)]/(n_A A²),
    with B = adj_B + θ·prē_A, the derivative's own point (∂Δ/∂post̄_A = −(adj_B + θ prē_A)/A²).
    gbstats takes B = the treatment's unadjusted mean, equal only when the arms' pre-period
    means are: at small n with a strong covariate its intervals undercover."""
    a_post, a_var_post, _ = _part(a.n, a.post_sum, a.post_sum_squares)
    a_pre, a_var_pre, _ = _part(a.n, a.pre_sum, a.pre_sum_squares)
    b_moments = _cuped_moments(b, theta)
    b_post = b_moments.mean + theta * a_pre
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


def _plain(s: Stats, theta: float | None) -> MeanStats | BinomialStats | RatioStats | None:
    """The statistic as one that can be pooled over arms (None: quantiles, adjusted CUPED)."""
    if isinstance(s, MeanStats | BinomialStats | RatioStats):
        return s
    if isinstance(s, CupedRatioStats) and theta is None:
        return _ratio_of(s)
    return None


def _pooled(a: MeanStats | BinomialStats | RatioStats, b: MeanStats | BinomialStats | RatioStats
            ) -> MeanStats | BinomialStats | RatioStats:
    """Both arms' statistics summed into one arm of n_A + n_B units."""
    if isinstance(a, BinomialStats) and isinstance(b, BinomialStats):
        return BinomialStats(a.n + b.n, a.successes + b.successes)
    if isinstance(a, MeanStats) and isinstance(b, MeanStats):
        return MeanStats(a.n + b.n, a.sum + b.sum, a.sum_squares + b.sum_squares)
    assert isinstance(a, RatioStats) and isinstance(b, RatioStats)
    return RatioStats(a.n + b.n, a.num_sum + b.num_sum, a.num_sum_squares + b.num_sum_squares,
                      a.den_sum + b.den_sum, a.den_sum_squares + b.den_sum_squares,
                      a.num_den_sum_product + b.num_den_sum_product)


def _borrow_pooled_variance(control: Stats, treatment: Stats, a: ArmMoments, b: ArmMoments,
                            theta: float | None) -> tuple[ArmMoments, ArmMoments]:
    """When exactly one arm has no variance (0 errors in 2,000 users), both arms take the
    variance of the two arms pooled, as the two-proportion z-test does: the test of equal means
    is then Pearson's χ² of the 2 × 2 table. Both arms degenerate, or statistics that cannot be
    pooled (quantiles, adjusted CUPED), are left as they are (and refused by the test)."""
    if (a.variance > 0) == (b.variance > 0) or a.n < 2 or b.n < 2:
        return a, b
    pa, pb = _plain(control, theta), _plain(treatment, theta)
    if pa is None or pb is None:
        return a, b
    pooled = _pooled(pa, pb).variance
    if not (pooled > 0 and math.isfinite(pooled)):
        return a, b
    return replace(a, variance=pooled), replace(b, variance=pooled)


def compare(control: Stats, treatment: Stats, *, relative: bool) -> Comparison:
    """Moments of both arms and the effect of treatment over control with its variance (an arm
    without variance takes the pooled one: :func:`_borrow_pooled_variance`)."""
    a, b, theta = adjusted_moments(control, treatment)
    a, b = _borrow_pooled_variance(control, treatment, a, b, theta)
    if a.n < 1 or b.n < 1 or (relative and a.unadjusted_mean == 0):
        return Comparison(a, b, theta, 0.0, 0.0)
    estimate, variance = effect(a, b, relative=relative)
    if relative and theta is not None:
        if isinstance(control, CupedStats) and isinstance(treatment, CupedStats):
            variance = _relative_variance_cuped(control, treatment, theta)
        elif isinstance(control, CupedRatioStats) and isinstance(treatment, CupedRatioStats):
            variance = _relative_variance_cuped_ratio(control, treatment, theta)
    return Comparison(a, b, theta, estimate, variance)


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


def _arm_problem(a: ArmMoments, b: ArmMoments, relative: bool) -> str | None:
    if a.n < 2 or b.n < 2:
        return "each arm needs at least 2 units"
    if not all(math.isfinite(x) for x in (a.mean, b.mean, a.unadjusted_mean, a.variance,
                                           b.variance)):
        return "an arm's mean or variance is not a number"
    if a.variance <= 0 and b.variance <= 0:
        return "zero variance in both arms"
    if a.variance <= 0 or b.variance <= 0:
        return "zero or negative variance in an arm"
    if relative and a.unadjusted_mean == 0:
        return ZERO_CONTROL_MEAN
    return None


def _bad_variance(variance: float) -> str | None:
    return None if variance > 0 and math.isfinite(variance) else "effect variance is not positive"


def untestable_reason(comparison: Comparison, relative: bool) -> str | None:
    """Why no test can be computed on ``comparison`` (too few units, no variance, a zero control
    mean for a relative effect, a non-positive effect variance), or None when one can."""
    return (_arm_problem(comparison.control, comparison.treatment, relative)
            or _bad_variance(comparison.variance))
