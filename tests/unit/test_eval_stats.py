"""Eval statistics against independent references (scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from flywheel.tasks.evals._stats import (
    consistency,
    mcnemar_exact,
    mean_interval,
    paired_bootstrap,
    wilson_interval,
)


@pytest.mark.parametrize("x, n", [(0, 10), (3, 10), (10, 10), (37, 120), (199, 200)])
def test_wilson_matches_scipy(x: int, n: int) -> None:
    reference = stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(x, n) == pytest.approx((reference.low, reference.high), abs=1e-12)


@pytest.mark.parametrize("b, c", [(0, 0), (0, 5), (2, 12), (7, 7), (30, 12), (1, 40)])
def test_exact_mcnemar_matches_the_binomial_test(b: int, c: int) -> None:
    expected = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_mean_interval_matches_scipy_t() -> None:
    data = np.random.default_rng(1).uniform(size=40)
    expected = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    assert mean_interval(data) == pytest.approx(expected)


def test_paired_bootstrap_is_seeded_and_agrees_with_scipy() -> None:
    rng = np.random.default_rng(5)
    base = (rng.uniform(size=150) < 0.6).astype(float)
    cand = np.where(rng.uniform(size=150) < 0.2, 1 - base, base)
    estimate, low, high = paired_bootstrap(base, cand)
    assert (estimate, low, high) == paired_bootstrap(base, cand)  # fixed seed: reproducible
    assert estimate == pytest.approx(cand.mean() - base.mean())
    reference = stats.bootstrap((base, cand), lambda a, b, axis=-1: (b - a).mean(axis=axis),
                                paired=True, method="percentile", n_resamples=4000,
                                random_state=np.random.default_rng(9)).confidence_interval
    assert low == pytest.approx(reference.low, abs=0.02)
    assert high == pytest.approx(reference.high, abs=0.02)
    assert low < estimate < high
    together = paired_bootstrap([base, base * 0.5], [cand, cand * 0.5])
    assert together[0] == (estimate, low, high)  # the same draws for every measure
    assert together[1] == pytest.approx((estimate / 2, low / 2, high / 2))


def test_consistency_is_the_majority_share() -> None:
    assert consistency(3, 3) == 1.0
    assert consistency(0, 4) == 1.0
    assert consistency(1, 3) == pytest.approx(2 / 3)
    assert np.isnan(consistency(0, 0))
