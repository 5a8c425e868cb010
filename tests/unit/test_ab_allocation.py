"""Adaptive allocation's statistics (tasks/ab/_allocation.py) on seeded simulations with known
arm rates and a drifting baseline, 200 runs × 20 nights at once (numpy, a few seconds).

The world: 2,000 new users a night, each one observed once (a Bernoulli outcome); the baseline
rate drifts from 0.30 to 0.585 over the 20 nights and the treatment is 0.03 better every night
(the true difference is 0.03 throughout). Nights 1-2 are the burn-in (50/50); after each night
the next night's weights are computed from the period-stratified posterior, exactly as the
nightly ``allocate`` step does (tasks/ab/_bandit.py: ``_adaptive``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats as scipy_stats

from flywheel.tasks.ab._allocation import (
    expected_loss,
    floor_shares,
    next_shares,
    period_srm,
    pooled,
    posterior_draws,
    rank_shares,
    regret,
    stratify,
)
from flywheel.tasks.stats import srm_p_value

RUNS, NIGHTS, USERS, DELTA, BURN_IN, MIN_SHARE = 200, 20, 2000, 0.03, 2, 0.1
BASE = 0.30 + 0.015 * np.arange(NIGHTS)
TRUE = np.stack([BASE, BASE + DELTA], axis=-1)  # (nights, arms)


@dataclass(frozen=True)
class Simulation:
    n: np.ndarray  # (runs, nights, arms) users
    mean: np.ndarray  # (runs, nights, arms) observed rates


def simulate(method: str, seed: int, runs: int = RUNS) -> Simulation:
    rng = np.random.default_rng(seed)
    n = np.zeros((runs, NIGHTS, 2))
    mean = np.zeros((runs, NIGHTS, 2))
    weights = np.full((runs, 2), 0.5)
    for night in range(NIGHTS):
        treated = rng.binomial(USERS, weights[:, 1])
        counts = np.stack([USERS - treated, treated], axis=-1)
        successes = rng.binomial(counts, TRUE[night])
        n[:, night] = counts
        mean[:, night] = successes / np.maximum(counts, 1)
        if night + 1 >= BURN_IN:
            seen_n, seen_mean = n[:, : night + 1], mean[:, : night + 1]
            est = stratify(seen_n, seen_mean, seen_mean * (1 - seen_mean))
            samples = posterior_draws(est.mean, est.variance, rng, 2000)
            weights = next_shares(method, samples, min_share=MIN_SHARE, mean=est.mean,
                                  unit_sd=np.sqrt(est.mean * (1 - est.mean)),
                                  counts=seen_n.sum(axis=1))
    return Simulation(n, mean)


@pytest.fixture(scope="module")
def thompson() -> Simulation:
    return simulate("thompson", seed=20)


def _covered(estimate: np.ndarray, se: np.ndarray) -> np.ndarray:
    return np.abs(estimate - DELTA) <= 1.959964 * se


def test_thompson_finds_the_best_arm_in_at_least_95_percent_of_runs(thompson: Simulation
                                                                    ) -> None:
    est = stratify(thompson.n, thompson.mean, thompson.mean * (1 - thompson.mean))
    best, _ = rank_shares(posterior_draws(est.mean, est.variance, np.random.default_rng(1), 4000))
    found = np.mean(best.argmax(axis=-1) == 1)
    assert found >= 0.95, found
    # and it moved traffic: the better arm got most of the adaptive nights' users
    assert thompson.n[:, BURN_IN:, 1].sum() / thompson.n[:, BURN_IN:].sum() > 0.7


def test_stratified_interval_covers_the_true_difference_and_the_pooled_one_does_not(
    thompson: Simulation,
) -> None:
    est = stratify(thompson.n, thompson.mean, thompson.mean * (1 - thompson.mean))
    diff = est.mean[:, 1] - est.mean[:, 0]
    stratified = np.mean(_covered(diff, np.sqrt(est.variance.sum(axis=-1))))
    naive = pooled(thompson.n, thompson.mean)
    users = thompson.n.sum(axis=1)
    naive_se = np.sqrt((naive * (1 - naive) / users).sum(axis=-1))
    pooled_coverage = np.mean(_covered(naive[:, 1] - naive[:, 0], naive_se))
    assert 0.93 <= stratified <= 0.97, stratified
    # Simpson's paradox: the treatment's users come late, when the baseline is high
    assert pooled_coverage < 0.5, pooled_coverage
    assert np.mean(naive[:, 1] - naive[:, 0]) > DELTA + 0.02


def test_thompson_regret_is_below_the_fixed_50_50_split(thompson: Simulation) -> None:
    true_means = TRUE.mean(axis=0)  # the gap is the same every night: 0.03
    bandit = regret(thompson.n, true_means)
    fixed = NIGHTS * USERS * 0.5 * DELTA
    assert bandit.mean() < 0.5 * fixed, (bandit.mean(), fixed)
    assert np.all(bandit < fixed)


@pytest.mark.parametrize("method", ["top-two", "track-and-stop"])
def test_the_identification_methods_find_the_best_arm(method: str) -> None:
    sim = simulate(method, seed=21)
    est = stratify(sim.n, sim.mean, sim.mean * (1 - sim.mean))
    diff = est.mean[:, 1] - est.mean[:, 0]
    assert np.mean(diff > 0) >= 0.95
    assert 0.92 <= np.mean(_covered(diff, np.sqrt(est.variance.sum(axis=-1)))) <= 0.98


def test_floor_shares_keeps_every_arm_at_the_floor_and_sums_to_one() -> None:
    weights = floor_shares(np.array([[0.97, 0.02, 0.01], [0.5, 0.5, 0.0], [0, 0, 0]]), 0.1)
    assert weights.sum(axis=-1) == pytest.approx([1, 1, 1])
    assert np.all(weights >= 0.1 - 1e-12)
    assert weights[0] == pytest.approx([0.8, 0.1, 0.1])
    assert weights[1] == pytest.approx([0.45, 0.45, 0.1])
    assert weights[2] == pytest.approx([1 / 3] * 3)


def test_thompson_shares_match_the_probability_of_being_best_in_closed_form() -> None:
    # two normal arms: P(B > A) = Φ((μB − μA)/√(vA + vB))
    mean, variance = np.array([0.50, 0.52]), np.array([0.0002, 0.0002])
    samples = posterior_draws(mean, variance, np.random.default_rng(3), 200_000)
    best, second = rank_shares(samples)
    truth = scipy_stats.norm.cdf(0.02 / np.sqrt(0.0004))
    assert best[1] == pytest.approx(truth, abs=0.005)
    assert second[0] == pytest.approx(truth, abs=0.005)
    shares = next_shares("thompson", samples, min_share=0.0)
    assert shares == pytest.approx(best)
    two = next_shares("top-two", samples, min_share=0.0)
    assert two == pytest.approx([0.5, 0.5])  # with two arms top-two splits evenly
    # lower is better flips the roles
    assert rank_shares(samples, lower_is_better=True)[0][0] == pytest.approx(truth, abs=0.005)


def test_expected_loss_matches_the_normal_formula() -> None:
    mean, variance = np.array([0.50, 0.52]), np.array([0.0002, 0.0002])
    samples = posterior_draws(mean, variance, np.random.default_rng(4), 400_000)
    sd = np.sqrt(0.0004)
    z = 0.02 / sd
    # choosing A loses E[max(B − A, 0)] = d Φ(d/s) + s φ(d/s)
    loss_a = 0.02 * scipy_stats.norm.cdf(z) + sd * scipy_stats.norm.pdf(z)
    assert expected_loss(samples)[0] == pytest.approx(loss_a, rel=0.02)


def test_an_ineligible_arm_gets_only_the_floor() -> None:
    samples = posterior_draws(np.array([0.5, 0.6, 0.4]), np.full(3, 1e-4),
                              np.random.default_rng(5), 5000)
    shares = next_shares("thompson", samples, min_share=0.05,
                         eligible=np.array([True, False, True]))
    assert shares[1] == pytest.approx(0.05)
    assert shares[0] == pytest.approx(0.90, abs=0.01)


def test_stratified_estimate_is_the_period_weighted_mean() -> None:
    n = np.array([[100, 100], [50, 150]])
    mean = np.array([[0.2, 0.3], [0.6, 0.7]])
    var = mean * (1 - mean)
    est = stratify(n, mean, var)
    assert est.mean == pytest.approx([0.5 * 0.2 + 0.5 * 0.6, 0.5 * 0.3 + 0.5 * 0.7])
    assert est.variance[0] == pytest.approx(0.25 * 0.16 / 100 + 0.25 * 0.24 / 50)
    assert pooled(n, mean) == pytest.approx([(20 + 30) / 150, (30 + 105) / 250])
    # a period in which one arm has fewer than 2 users is left out
    n2 = np.array([[100, 100], [1, 199]])
    assert stratify(n2, mean, var).mean == pytest.approx([0.2, 0.3])


def test_period_srm_matches_the_per_period_chi2_and_their_sum() -> None:
    counts = np.array([[510, 490], [180, 820], [95, 905]])
    weights = np.array([[0.5, 0.5], [0.2, 0.8], [0.1, 0.9]])
    per_period, combined = period_srm(counts, weights)
    for i in range(3):
        assert per_period[i] == pytest.approx(srm_p_value(counts[i].tolist(),
                                                          weights[i].tolist()))
    statistic = sum(scipy_stats.chisquare(c, w * c.sum()).statistic
                    for c, w in zip(counts, weights, strict=True))
    assert combined == pytest.approx(scipy_stats.chi2.sf(statistic, 3))
    # the same counts judged against the first period's weights throughout are a mismatch
    assert period_srm(counts, np.tile([0.5, 0.5], (3, 1)))[1] < 1e-10
