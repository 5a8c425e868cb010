"""Assignment of units to variants by md5 bucketing."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


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
