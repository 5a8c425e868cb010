"""Sufficient statistics of one arm, and the moments (n, mean, per-unit variance) a test needs."""

from __future__ import annotations

from dataclasses import dataclass

from flywheel.tasks.stats._special import norm_ppf


def sample_variance(n: int, total: float, sum_squares: float) -> float:
    """Unbiased (n − 1) variance from a sum and a sum of squares."""
    if n <= 1:
        return 0.0
    return (sum_squares - total * total / n) / (n - 1)


def sample_covariance(n: int, sum_x: float, sum_y: float, sum_xy: float) -> float:
    if n <= 1:
        return 0.0
    return (sum_xy - sum_x * sum_y / n) / (n - 1)


def variance_of_ratio(
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
        return sample_variance(self.n, self.sum, self.sum_squares)


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
        return variance_of_ratio(
            self.num_sum / self.n,
            sample_variance(self.n, self.num_sum, self.num_sum_squares),
            self.den_sum / self.n,
            sample_variance(self.n, self.den_sum, self.den_sum_squares),
            sample_covariance(self.n, self.num_sum, self.den_sum, self.num_den_sum_product),
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


# gbstats' QuantileStatistic: a tied interval (U = L) is no variance below 1,000 events (the
# test is refused) and floored at 1e-5 from there; a positive variance is floored from 100.
QUANTILE_TIED_MIN_N = 1000
QUANTILE_FLOOR_MIN_N = 100
QUANTILE_VARIANCE_FLOOR = 1e-5


def _quantile_out_of_reach(n: int, nu: float, z: float) -> bool:
    """Whether the order-statistic interval's ranks fall outside 1…n (gbstats'
    quantile_above_one / quantile_below_zero): n ≤ z²ν/(1−ν) or n ≤ z²(1−ν)/ν."""
    return not 0 < nu < 1 or n <= z * z * nu / (1 - nu) or n <= z * z * (1 - nu) / nu


def _quantile_moments(s: QuantileStats) -> ArmMoments:
    z = norm_ppf(0.975)
    n_star = s.n_star or s.n
    if s.n <= 1 or _quantile_out_of_reach(s.n, s.nu, z):
        return ArmMoments(s.n, s.quantile, s.quantile, 0.0)
    variance = (n_star / s.n) * (s.n - 1) * ((s.upper - s.lower) / (2 * z)) ** 2
    if variance <= 0 and s.n < QUANTILE_TIED_MIN_N:
        return ArmMoments(s.n, s.quantile, s.quantile, 0.0)
    if s.cluster_n is not None and s.cluster_n > 1 and s.cluster_count_sum > 0 and s.nu > 0:
        k = s.cluster_n
        mean_s = s.cluster_ind_sum / k
        mean_n = s.cluster_count_sum / k
        var_s = sample_variance(k, s.cluster_ind_sum, s.cluster_ind_sum_squares)
        var_n = sample_variance(k, s.cluster_count_sum, s.cluster_count_sum_squares)
        cov = sample_covariance(k, s.cluster_ind_sum, s.cluster_count_sum,
                                 s.cluster_ind_count_sum_product)
        v_cluster = (var_s - 2 * mean_s * cov / mean_n + mean_s**2 * var_n / mean_n**2) / (
            k * mean_n**2)
        v_iid = s.nu * (1 - s.nu) / s.n
        variance *= v_cluster / v_iid
    elif s.cluster_n is not None:
        variance = 0.0
    if s.n >= QUANTILE_FLOOR_MIN_N:
        variance = max(variance, QUANTILE_VARIANCE_FLOOR)
    return ArmMoments(s.n, s.quantile, s.quantile, variance)


def arm_moments(stats: MeanStats | BinomialStats | RatioStats | QuantileStats) -> ArmMoments:
    """n, mean and per-unit variance of one arm (CUPED statistics need both arms: see
    :func:`adjusted_moments`)."""
    if isinstance(stats, QuantileStats):
        return _quantile_moments(stats)
    if isinstance(stats, MeanStats | BinomialStats | RatioStats):
        return ArmMoments(stats.n, stats.mean, stats.mean, stats.variance)
    raise TypeError(f"arm_moments: unsupported statistics {type(stats).__name__}")
