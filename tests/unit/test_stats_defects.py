"""The defects a differential test against gbstats found (issue 21), each checked against an
independent reference: a seeded simulation of the test itself, scipy, or gbstats' published
rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats

from flywheel.tasks.ab import (
    ArmData,
    Experiment,
    ExperimentData,
    Guardrail,
    Thresholds,
    analyze_experiment,
)
from flywheel.tasks.config import load_settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.stats import (
    ZERO_CONTROL_MEAN,
    BinomialStats,
    CupedStats,
    QuantileStats,
    RatioStats,
    arm_moments,
    frequentist_test,
    holm_bonferroni,
    minimum_detectable_effect,
    power,
    required_sample_size,
    sample_to_show_margin,
    srm_p_value,
)

pytestmark = pytest.mark.unit


# ------------------------------------------------------------------ 1. sequential power


def _simulated_sequential_power(p_a: float, p_b: float, per_arm: int, runs: int, seed: int,
                                tuning: int = 5000) -> float:
    """The share of ``runs`` simulated experiments the sequential test (the real one) calls
    significant at its last look."""
    rng = np.random.default_rng(seed)
    wins = 0
    for a, b in zip(rng.binomial(per_arm, p_a, runs), rng.binomial(per_arm, p_b, runs),
                    strict=True):
        result = frequentist_test(BinomialStats(per_arm, int(a)), BinomialStats(per_arm, int(b)),
                                  sequential_tuning=tuning)
        wins += result.p_value < 0.05
    return wins / runs


def test_sequential_power_is_the_simulated_power_of_the_sequential_test() -> None:
    """The issue's example: 10% → 11%, 67,668 users, N* = 5000. The old variance inflation gave
    0.692; 4,000 simulated experiments give ~0.80."""
    planned = power(0.1, 0.09, 0.1, 67668, sequential_tuning=5000)
    simulated = _simulated_sequential_power(0.10, 0.11, 67668 // 2, runs=4000, seed=21)
    assert abs(planned - simulated) <= 0.03
    assert planned > 0.75


def test_sequential_mde_and_sample_size_give_the_target_power_in_simulation() -> None:
    mean, variance = 0.3, 0.21
    mde = minimum_detectable_effect(mean, variance, 20000, sequential_tuning=5000)
    simulated = _simulated_sequential_power(mean, mean * (1 + mde), 10000, runs=3000, seed=5)
    assert abs(simulated - 0.8) <= 0.03
    needed = required_sample_size(mean, variance, mde, sequential_tuning=5000)
    assert abs(needed - 20000) / 20000 < 0.01  # the two plans agree


# ------------------------------------------------------------------ 2. a zero-variance arm


def test_zero_errors_against_five_percent_is_pearsons_chi_square() -> None:
    """0/2000 vs 100/2000: both arms take the pooled variance, which makes the test Pearson's
    χ² of the 2 × 2 table (the two-proportion z-test): t² = χ²."""
    r = frequentist_test(BinomialStats(2000, 0), BinomialStats(2000, 100), relative=False)
    chi2 = stats.chi2_contingency([[0, 2000], [100, 1900]], correction=False).statistic
    assert r.error is None
    assert math.isclose((r.estimate / r.se) ** 2, chi2, rel_tol=1e-9)
    assert r.p_value < 1e-6


def test_zero_error_ratio_arm_is_tested_with_the_pooled_variance() -> None:
    # one request per user: the ratio is a proportion, its unit variance has n − 1
    r = frequentist_test(RatioStats(2000, 0, 0, 2000, 2000, 0),
                         RatioStats(2000, 100, 100, 2000, 2000, 100), relative=False)
    chi2 = stats.chi2_contingency([[0, 2000], [100, 1900]], correction=False).statistic
    assert math.isclose((r.estimate / r.se) ** 2, chi2 * 3999 / 4000, rel_tol=1e-9)
    # the issue's example (3 requests per user): significant, not "zero variance"
    issue = frequentist_test(RatioStats(2000, 0, 0, 6000, 20000, 0),
                             RatioStats(2000, 300, 500, 6000, 20000, 1000), relative=False)
    assert issue.error is None and issue.p_value < 1e-6
    both = frequentist_test(RatioStats(2000, 0, 0, 6000, 20000, 0),
                            RatioStats(2000, 0, 0, 6000, 20000, 0), relative=False)
    assert both.error == "zero variance in both arms" and both.p_value == 1.0
    relative = frequentist_test(RatioStats(2000, 0, 0, 6000, 20000, 0),
                                RatioStats(2000, 300, 500, 6000, 20000, 1000))
    assert relative.error == ZERO_CONTROL_MEAN


def _error_rate_sums(users: int, errors: int, per_user: int) -> dict[str, float]:
    """Per-user sums of error_rate when ``errors`` users had one error each."""
    return {"n": users, "m_sum": errors, "m_sum_squares": errors, "d_sum": users * per_user,
            "d_sum_squares": users * per_user**2, "m_d": errors * per_user,
            "users_with_pre": 0, "dp_sum": 0}


def test_an_error_rate_guardrail_from_zero_to_five_percent_fails() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    exp = Experiment("e", {"control": "p:a", "b": "p:b"}, (0.5, 0.5), start, None,
                     "thumbs_up_rate", (Guardrail("error_rate", "increase", 0.05),))
    arms = {"control": ArmData("control", users=2000, requests=6000,
                               ratio={"error_rate": _error_rate_sums(2000, 0, 3)}),
            "b": ArmData("b", users=2000, requests=6000,
                         ratio={"error_rate": _error_rate_sums(2000, 300, 3)})}
    report = analyze_experiment(ExperimentData(exp, arms, 0, 4000), Thresholds(), None)
    row = next(m for m in report["metrics"] if m["metric"] == "error_rate")
    assert row["relative"] is False and row["p_value"] < 1e-6
    (guard,) = report["guardrails"]
    assert guard["status"] == "fail" and guard["significantly_worse"]


# ------------------------------------------------------------------ 3. tied quantiles


def _tied_quantile(n: int, nu: float = 0.99, value: float = 120.0) -> QuantileStats:
    return QuantileStats(n=n, nu=nu, quantile=value, lower=value, upper=value)


def test_tied_quantile_bounds_below_1000_events_are_no_variance_as_in_gbstats() -> None:
    """gbstats' QuantileStatistic._has_zero_variance: a tied interval below n = 1,000 has no
    variance (the test is refused), the 1e-5 floor applies from there."""
    assert arm_moments(_tied_quantile(500)).variance == 0.0
    assert arm_moments(_tied_quantile(1000)).variance == 1e-5
    spread = QuantileStats(n=500, nu=0.99, quantile=300, lower=280, upper=330)
    r = frequentist_test(_tied_quantile(500), spread)
    assert r.error and r.p_value == 1.0  # not p = 0 from a floored variance
    # gbstats' quantile_above_one: n ≤ z²ν/(1 − ν) has no interval at all
    assert arm_moments(QuantileStats(n=300, nu=0.99, quantile=1, lower=0, upper=2)).variance == 0


# ------------------------------------------------------------------ 4. crash paths


def test_a_nan_variance_makes_the_sample_plan_a_note_not_a_crash() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    exp = Experiment("e", {"control": "p:a", "b": "p:b"}, (0.5, 0.5), start, None,
                     "error_rate")
    bad = {**_error_rate_sums(2000, 40, 3), "m_sum_squares": math.nan}
    arms = {"control": ArmData("control", users=2000, ratio={"error_rate": bad}),
            "b": ArmData("b", users=2000, ratio={"error_rate": _error_rate_sums(2000, 50, 3)})}
    report = analyze_experiment(ExperimentData(exp, arms, 0, 4000), Thresholds(), None)
    assert report["sample"]["needed"] is None and report["sample"]["note"]
    row = next(m for m in report["metrics"] if m["metric"] == "error_rate")
    assert row["error"] and row["p_value"] is None


def test_a_target_power_of_one_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="target_power"):
        minimum_detectable_effect(0.5, 0.25, 1000, target_power=1.0)
    with pytest.raises(ValueError, match="target power"):
        Thresholds(target_power=1.0)
    with pytest.raises(UsageError, match="ab_target_power"):
        load_settings(ab_target_power=1.0)
    with pytest.raises(ValueError, match="finite"):
        required_sample_size(0.5, math.nan, 0.05)


def test_a_nan_p_value_is_that_rows_error_and_the_others_are_holm_adjusted() -> None:
    from flywheel.tasks.ab._analysis import adjust

    rows = [{"p_value": p, "p_value_adjusted": None, "error": None} for p in (0.01, math.nan, 0.04, 0.03)]
    adjust(rows, "holm")
    assert rows[1]["p_value"] is None and rows[1]["p_value_adjusted"] is None
    assert "not a number" in rows[1]["error"]
    expected = holm_bonferroni([0.01, 0.04, 0.03])
    assert [rows[i]["p_value_adjusted"] for i in (0, 2, 3)] == pytest.approx(expected)
    # the absolute NaN-quantile case: an error, not a NaN p-value
    nan_q = QuantileStats(n=500, nu=0.5, quantile=math.nan, lower=math.nan, upper=math.nan)
    fine = QuantileStats(n=500, nu=0.5, quantile=300, lower=280, upper=330)
    r = frequentist_test(nan_q, fine, relative=False)
    assert r.error and r.p_value == 1.0


# ------------------------------------------------------------------ 5. SRM edges


def test_srm_leaves_weight_zero_arms_out_of_the_expected_counts() -> None:
    p = srm_p_value([5000, 5100, 300], [0.5, 0.5, 0.0])
    assert math.isclose(p, stats.chisquare([5000, 5100]).pvalue, rel_tol=1e-12)


def test_srm_counts_missing_arms_as_zero_and_refuses_nan() -> None:
    p = srm_p_value([5000, 5100], [1, 1, 1])
    assert math.isclose(p, stats.chisquare([5000, 5100, 0]).pvalue, rel_tol=1e-12, abs_tol=1e-300)
    with pytest.raises(ValueError, match="finite"):
        srm_p_value([5000, math.nan], [1, 1])
    with pytest.raises(ValueError, match="observed counts"):
        srm_p_value([1, 2, 3], [1, 1])


# ------------------------------------------------------------------ 6. relative CUPED at small n


def _cuped(post: np.ndarray, pre: np.ndarray) -> CupedStats:
    return CupedStats(len(post), float(post.sum()), float((post**2).sum()), float(pre.sum()),
                      float((pre**2).sum()), float((post * pre).sum()))


def test_relative_cuped_intervals_cover_at_small_n_with_a_strong_covariate() -> None:
    """n = 50 per arm, ρ ≈ 0.99, a doubling: 4,000 seeded experiments; the 95% interval of the
    relative effect covers the true +100% in 95% ± 1.2% of them (gbstats' evaluation point
    covers ~92.5%)."""
    rng = np.random.default_rng(2026)
    n, lift, runs = 50, 1.0, 4000
    covered = 0
    for _ in range(runs):
        pre_a, pre_b = rng.normal(1, 1, n), rng.normal(1, 1, n)
        post_a = pre_a + rng.normal(0, 0.14, n)
        post_b = pre_b * (1 + lift) + rng.normal(0, 0.14, n)
        r = frequentist_test(_cuped(post_a, pre_a), _cuped(post_b, pre_b))
        covered += r.ci_low <= lift <= r.ci_high
    assert abs(covered / runs - 0.95) <= 0.012


# ------------------------------------------------------------------ 8. users to show a margin


def test_sample_to_show_margin_is_where_the_interval_reaches_the_margin() -> None:
    est, se, n_now, margin = 0.06, 0.03, 4000, 0.10
    needed = sample_to_show_margin(est, se, n_now, margin)
    z = stats.norm.ppf(0.975)
    assert math.isclose(est + z * se * math.sqrt(n_now / needed), margin, rel_tol=1e-4)
    assert sample_to_show_margin(0.12, se, n_now, margin) == math.inf
    sequential = sample_to_show_margin(est, se, n_now, margin, sequential_tuning=5000)
    assert sequential > needed  # the always-valid interval is wider
