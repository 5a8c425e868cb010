"""The sample ratio mismatch check: Pearson's χ² of units per arm against the weights."""

from __future__ import annotations

from collections.abc import Sequence

from scipy import special


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
