"""The alert rules against independent references: simulation, numpy, scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from flywheel.tasks.monitor import _rules as rules

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("nights", [3, 7])
def test_control_limits_cover_a_new_normal_night_99_73_percent_of_the_time(nights: int) -> None:
    rng = np.random.default_rng(42)
    trials = 200_000
    baseline = rng.normal(100.0, 5.0, size=(trials, nights))
    tonight = rng.normal(100.0, 5.0, size=trials)
    mean, sd = baseline.mean(axis=1), baseline.std(axis=1, ddof=1)
    t = rules.control_limits(0.0, 1.0, nights, 0.0).high / math.sqrt(1 + 1 / nights)
    outside = np.abs(tonight - mean) > t * sd * math.sqrt(1 + 1 / nights)
    assert outside.mean() == pytest.approx(1 - rules.CONTROL_COVERAGE, abs=0.0004)


def test_control_limits_have_a_floor_of_the_minimum_relative_change() -> None:
    limits = rules.control_limits(200.0, 0.0, 7, 0.10)
    assert (limits.low, limits.center, limits.high) == pytest.approx((180.0, 200.0, 220.0))
    wide = rules.control_limits(200.0, 30.0, 7, 0.10)
    t = stats.t.ppf(0.99865, 6)
    assert wide.high - 200.0 == pytest.approx(t * 30.0 * math.sqrt(1 + 1 / 7))


def test_control_limits_need_two_nights() -> None:
    with pytest.raises(ValueError):
        rules.control_limits(1.0, 0.0, 1, 0.1)


def test_only_the_harmful_side_alerts() -> None:
    limits = rules.Limits(center=10.0, low=8.0, high=12.0)
    assert rules.side_of(13.0, limits, "up") == "above"
    assert rules.side_of(7.0, limits, "up") is None
    assert rules.side_of(7.0, limits, "down") == "below"
    assert rules.side_of(13.0, limits, "down") is None
    assert rules.side_of(7.0, limits, "both") == "below"
    assert rules.side_of(11.0, limits, "both") is None
    assert set(rules.METRIC_DIRECTIONS) >= rules.RATE_METRICS


def test_rate_shift_p_value_is_scipys_exact_binomial_test_at_the_smoothed_rate() -> None:
    p0 = (0.01 * 5000 + 0.5) / 5001
    got = rules.rate_shift_p_value(14, 500, 0.01, 5000, "above")
    assert got == pytest.approx(stats.binomtest(14, 500, p0, alternative="greater").pvalue)
    low = rules.rate_shift_p_value(40, 400, 0.2, 3000, "below")
    p0 = (0.2 * 3000 + 0.5) / 3001
    assert low == pytest.approx(stats.binomtest(40, 400, p0, alternative="less").pvalue)
    # a baseline without a single event: one event tonight is not infinitely surprising
    assert rules.rate_shift_p_value(1, 100, 0.0, 1000, "above") > rules.ONE_SIDED_ALPHA


def test_psi_matches_its_formula_and_is_zero_for_identical_shares() -> None:
    actual, expected = [30, 50, 20], [25, 50, 25]
    a, e = np.array(actual) / 100, np.array(expected) / 100
    assert rules.psi(actual, expected) == pytest.approx(float(np.sum((a - e) * np.log(a / e))))
    assert rules.psi([10, 20, 30], [20, 40, 60]) == pytest.approx(0.0)
    assert rules.psi([0, 10], [10, 10]) == pytest.approx(
        (1e-4 - 0.5) * math.log(1e-4 / 0.5) + (1 - 0.5) * math.log(1 / 0.5))


def test_psi_p_value_is_pearsons_chi_square_of_the_two_samples() -> None:
    table = np.array([[30, 50, 20], [250, 500, 250]])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert dof == 2
    assert rules.psi_p_value(chi2, 3) == pytest.approx(p)
    assert rules.psi_p_value(5.0, 1) == 1.0


@pytest.mark.parametrize(("value", "p", "expected"), [
    (0.05, 1e-9, None), (0.12, 1e-9, "warning"), (0.30, 1e-9, "critical"),
    (0.30, 0.01, None), (0.12, 0.0011, None),
])
def test_psi_thresholds(value: float, p: float, expected: str | None) -> None:
    assert rules.psi_severity(value, p) == expected


def test_a_tail_quantile_needs_ten_observations_beyond_it() -> None:
    assert rules.quantile_min_count(0.95, 30) == 200
    assert rules.quantile_min_count(0.99, 30) == 1000
    assert rules.quantile_min_count(0.5, 30) == 30


def _poisson_cdf(k: int, mu: float) -> float:
    return sum(math.exp(i * math.log(mu) - mu - math.lgamma(i + 1)) for i in range(k + 1))


def _binom_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def test_volume_uses_a_poisson_test_against_the_baseline_mean() -> None:
    assert rules.count_shift_p_value(119, 140.0, "below") == pytest.approx(_poisson_cdf(119, 140.0))
    assert rules.count_shift_p_value(180, 140.0, "above") == pytest.approx(1 - _poisson_cdf(179, 140.0))


def test_quantile_shift_counts_observations_at_or_below_the_baseline_centre() -> None:
    # 300 observations, 120 at or below the baseline median: is the median higher tonight?
    assert rules.quantile_shift_p_value(0.5, 300, 118, 120, "above") == pytest.approx(_binom_cdf(120, 300, 0.5))
    # 295 of 300 under the baseline's p95 where 285 are expected: the p95 fell
    below = rules.quantile_shift_p_value(0.95, 300, 295, 296, "below")
    assert below == pytest.approx(1 - _binom_cdf(294, 300, 0.95))
    # a sample drawn from the baseline's own law is rarely flagged
    rng = np.random.default_rng(3)
    draws = rng.lognormal(0.0, 0.5, size=(2000, 400))
    median = 1.0  # exp(0): the true median
    k = (draws <= median).sum(axis=1)
    p = np.array([rules.quantile_shift_p_value(0.5, 400, int(x), int(x), "above") for x in k])
    assert (p < rules.ONE_SIDED_ALPHA).mean() < 0.004


def test_mean_shift_is_a_one_sided_z_test_with_tonights_standard_error() -> None:
    from statistics import NormalDist

    z = (130.0 - 120.0) / (25.0 / math.sqrt(400))
    assert rules.mean_shift_p_value(130.0, 120.0, 25.0, 400, "above") == pytest.approx(1 - NormalDist().cdf(z))
    assert rules.mean_shift_p_value(110.0, 120.0, 25.0, 400, "below") == pytest.approx(1 - NormalDist().cdf(z))
    assert rules.mean_shift_p_value(130.0, 120.0, None, 400, "above") == 1.0
    assert rules.mean_shift_p_value(130.0, 120.0, 0.0, 400, "above") == 0.0
