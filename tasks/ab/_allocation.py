"""Adaptive allocation, the statistics (docs/statistics.md, "Adaptive allocation"): the
posterior of each arm from period-stratified estimates, the next period's weights (Thompson
sampling, top-two Thompson, track-and-stop), the stop rule, the per-period SRM check and the
regret against the fixed split.

Pure numpy, no I/O. Every function takes arrays whose last axis is the arm (and, for per-period
inputs, whose second-to-last axis is the period), with any leading batch axes: the nightly
calls them for one experiment, the simulation tests for 200 runs at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import special

DRAWS = 10_000  # Monte Carlo draws of the posterior per night
TOP_TWO_BETA = 0.5  # top-two Thompson: the share of the first choice


@dataclass(frozen=True)
class Stratified:
    """Period-stratified arm estimates: mean and variance of the mean per arm, and the
    users (all arms) of the periods used."""

    mean: np.ndarray  # (..., K)
    variance: np.ndarray  # (..., K): variance of the estimated mean
    users: np.ndarray  # (...,): users of the periods in which every arm had >= 2 users


def night_seed(experiment: str, run_date: date) -> int:
    """The fixed seed of one experiment's draws on one night (reruns draw the same numbers)."""
    digest = hashlib.sha256(f"{experiment}:{run_date.isoformat()}".encode()).hexdigest()
    return int(digest[:16], 16)


def stratify(n: np.ndarray, mean: np.ndarray, unit_variance: np.ndarray) -> Stratified:
    """GrowthBook's bandit weighting: per arm a, μ̂_a = Σ_p ω_p μ̂_{a,p} with ω_p = N_p / Σ N_p
    (N_p: users of period p, all arms), Var = Σ_p ω_p² σ²_{a,p} / n_{a,p}. ``n``, ``mean``,
    ``unit_variance`` are (..., P, K); periods where an arm has fewer than 2 users are left out
    (and the weights renormalised over the others)."""
    n = np.asarray(n, dtype=float)
    usable = np.all(n >= 2, axis=-1)  # (..., P)
    period_users = np.where(usable, n.sum(axis=-1), 0.0)
    total = period_users.sum(axis=-1, keepdims=True)
    omega = np.divide(period_users, total, out=np.zeros_like(period_users), where=total > 0)
    safe_n = np.where(n >= 2, n, 1.0)
    est = np.sum(omega[..., None] * np.where(usable[..., None], mean, 0.0), axis=-2)
    var = np.sum((omega**2)[..., None] * np.where(usable[..., None], unit_variance / safe_n, 0.0),
                 axis=-2)
    return Stratified(est, var, total[..., 0])


def pooled(n: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The naive pooled mean per arm over all periods (biased when weights and the metric both
    move over time): Σ_p n_{a,p} μ̂_{a,p} / Σ_p n_{a,p}."""
    n = np.asarray(n, dtype=float)
    users = n.sum(axis=-2)
    return np.divide((n * mean).sum(axis=-2), users, out=np.zeros_like(users), where=users > 0)


def posterior_draws(mean: np.ndarray, variance: np.ndarray, rng: np.random.Generator,
                    draws: int = DRAWS) -> np.ndarray:
    """Draws of every arm's mean from N(μ̂_a, Var_a) (flat prior): shape (..., draws, K)."""
    mean = np.asarray(mean, dtype=float)
    sd = np.sqrt(np.maximum(np.asarray(variance, dtype=float), 0.0))
    noise = rng.standard_normal((*mean.shape[:-1], draws, mean.shape[-1]))
    return mean[..., None, :] + sd[..., None, :] * noise


def _oriented(samples: np.ndarray, lower_is_better: bool) -> np.ndarray:
    return -samples if lower_is_better else samples


def rank_shares(samples: np.ndarray, lower_is_better: bool = False,
                eligible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(P(arm is best), P(arm is second best)) over the draws, among ``eligible`` arms."""
    values = _oriented(samples, lower_is_better)
    if eligible is not None:
        values = np.where(eligible[..., None, :], values, -np.inf)
    k = values.shape[-1]
    order = np.argsort(-values, axis=-1)
    arms = np.arange(k)
    first = (order[..., 0:1] == arms).mean(axis=-2)
    second = (order[..., 1:2] == arms).mean(axis=-2) if k > 1 else np.zeros_like(first)
    return first, second


def expected_loss(samples: np.ndarray, lower_is_better: bool = False) -> np.ndarray:
    """E[max_j θ_j − θ_a] per arm (oriented so that larger is better): what choosing arm a
    loses on average, on the metric's scale."""
    values = _oriented(samples, lower_is_better)
    return (values.max(axis=-1, keepdims=True) - values).mean(axis=-2)


def floor_shares(raw: np.ndarray, min_share: float) -> np.ndarray:
    """Weights summing to 1 in which every arm has at least ``min_share``: arms below the floor
    are raised to it and the others scaled down proportionally (repeated until stable)."""
    raw = np.clip(np.asarray(raw, dtype=float), 0.0, None)
    k = raw.shape[-1]
    fixed = np.zeros(raw.shape, dtype=bool)
    weights = raw
    for _ in range(k):
        free = np.where(fixed, 0.0, raw)
        free_total = free.sum(axis=-1, keepdims=True)
        free_count = (~fixed).sum(axis=-1, keepdims=True)
        mass = 1.0 - min_share * fixed.sum(axis=-1, keepdims=True)
        spread = np.where(free_total > 0, free / np.where(free_total > 0, free_total, 1.0),
                          1.0 / np.maximum(free_count, 1))
        weights = np.where(fixed, min_share, spread * mass)
        newly = (weights < min_share) & ~fixed
        if not newly.any():
            break
        fixed |= newly
    return weights


def track_and_stop_shares(mean: np.ndarray, unit_sd: np.ndarray, counts: np.ndarray,
                          lower_is_better: bool = False) -> np.ndarray:
    """Track-and-stop's next-period shares: D-tracking of the optimal proportions w* for
    identifying the best of Gaussian arms, with w* in its closed-form OCBA approximation
    (w_j ∝ (σ_j/Δ_j)² for j ≠ best, w_b = σ_b √(Σ_j w_j²/σ_j²)). The next period's shares
    bring the cumulative counts towards w* (assuming as many new users as so far / periods)."""
    values = _oriented(np.asarray(mean, dtype=float), lower_is_better)
    sd = np.maximum(np.asarray(unit_sd, dtype=float), 1e-12)
    best = np.argmax(values, axis=-1)
    is_best = np.arange(values.shape[-1]) == best[..., None]
    top = np.take_along_axis(values, best[..., None], axis=-1)
    gap = np.maximum(top - values, 1e-9 * (np.abs(top) + 1e-12))
    others = np.where(is_best, 0.0, (sd / gap) ** 2)
    best_w = np.take_along_axis(sd, best[..., None], axis=-1) * np.sqrt(
        np.sum(np.where(is_best, 0.0, others**2 / sd**2), axis=-1, keepdims=True))
    target = np.where(is_best, best_w, others)
    target = target / target.sum(axis=-1, keepdims=True)
    counts = np.asarray(counts, dtype=float)
    so_far = counts.sum(axis=-1, keepdims=True)
    need = np.clip(target * 2 * so_far - counts, 0.0, None)  # next total ≈ twice the users so far
    total = need.sum(axis=-1, keepdims=True)
    return np.where(total > 0, need / np.where(total > 0, total, 1.0), target)


def next_shares(method: str, samples: np.ndarray, *, min_share: float,
                lower_is_better: bool = False, eligible: np.ndarray | None = None,
                mean: np.ndarray | None = None, unit_sd: np.ndarray | None = None,
                counts: np.ndarray | None = None) -> np.ndarray:
    """The next period's weights by ``method`` (before them, arms not ``eligible`` — a failing
    guardrail — get only the floor)."""
    if method == "thompson":
        raw, _ = rank_shares(samples, lower_is_better, eligible)
    elif method == "top-two":
        first, second = rank_shares(samples, lower_is_better, eligible)
        raw = TOP_TWO_BETA * first + (1 - TOP_TWO_BETA) * second
    elif method == "track-and-stop":
        if mean is None or unit_sd is None or counts is None:
            raise ValueError("track-and-stop needs the means, unit sds and counts")
        raw = track_and_stop_shares(mean, unit_sd, counts, lower_is_better)
    else:
        raise ValueError(f"unknown allocation method {method!r}")
    if eligible is not None:
        raw = np.where(eligible, raw, 0.0)
    return floor_shares(raw, min_share)


def period_srm(counts: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    """SRM against each period's weights: Pearson's χ² of users per arm in each period (its own
    p-value) and all periods together (the χ² statistics add, and so do their degrees of
    freedom: independent periods). ``counts``, ``weights`` are (P, K)."""
    counts = np.asarray(counts, dtype=float)
    weights = np.asarray(weights, dtype=float)
    total = counts.sum(axis=-1, keepdims=True)
    share = weights / weights.sum(axis=-1, keepdims=True)
    expected = share * total
    live = expected > 0
    stat = np.sum(np.where(live, (counts - expected) ** 2 / np.where(live, expected, 1.0), 0.0),
                  axis=-1)
    df = np.where(total[..., 0] > 0, live.sum(axis=-1) - 1, 0)
    per_period = np.where(df > 0, special.chdtrc(np.maximum(df, 1), stat), 1.0)
    total_df = int(df.sum())
    combined = float(special.chdtrc(total_df, stat[df > 0].sum())) if total_df > 0 else 1.0
    return per_period, combined


def regret(n: np.ndarray, arm_means: np.ndarray, lower_is_better: bool = False) -> np.ndarray:
    """Cumulative regret Σ_p Σ_a n_{a,p} (μ* − μ_a) against the best arm, for (estimated or
    true) arm means (..., K) and users per period and arm (..., P, K)."""
    values = _oriented(np.asarray(arm_means, dtype=float), lower_is_better)
    gap = values.max(axis=-1, keepdims=True) - values
    return np.sum(np.asarray(n, dtype=float) * gap[..., None, :], axis=(-2, -1))
