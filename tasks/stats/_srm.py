"""The sample ratio mismatch check: Pearson's χ² of units per arm against the weights."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import special


def _counts(observed: Sequence[float], arms: int) -> list[float]:
    """The observed units per arm, arms missing at the end counted as 0 (an arm nobody
    reached has no row); a count that is not a finite number >= 0 is refused."""
    if len(observed) > arms:
        raise ValueError(f"srm_p_value: {len(observed)} observed counts for {arms} weights")
    counts = [float(c) for c in observed]
    if any(not math.isfinite(c) or c < 0 for c in counts):
        raise ValueError(f"srm_p_value: counts must be finite numbers >= 0, not {list(observed)}")
    return counts + [0.0] * (arms - len(counts))


def srm_p_value(observed: Sequence[float], weights: Sequence[float]) -> float:
    """Pearson's χ² test of observed units per arm against the configured weights.

    Only arms with weight > 0 take part, in the statistic *and* in the total the expected
    counts are shares of (users of a weight-0 arm are an assignment error, which the
    assignment-mismatch check counts; here they would inflate every expected count);
    df = (arms with weight > 0) − 1. Fewer counts than weights: the missing arms had 0 units.
    1.0 when nothing was observed in the weighted arms.
    """
    if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("srm_p_value: weights must be finite, >= 0, with a positive sum")
    counts = _counts(observed, len(weights))
    weighted = [(c, w) for c, w in zip(counts, weights, strict=True) if w > 0]
    total = sum(c for c, _ in weighted)
    if total <= 0 or len(weighted) < 2:
        return 1.0
    weight_sum = sum(w for _, w in weighted)
    statistic = 0.0
    for count, weight in weighted:
        expected = weight / weight_sum * total
        statistic += (count - expected) ** 2 / expected
    return float(special.chdtrc(len(weighted) - 1, statistic))
