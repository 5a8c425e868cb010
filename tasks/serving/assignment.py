"""Who gets what: the variant split and the rollout bucket, with the standard library only.

Variant split (docs/contracts.md, "Formats": statistics API; the one definition of
``assign_variant``, re-exported by :mod:`flywheel.tasks.stats`; its SQL twin is the macro
``fw_assign_variant`` in ``sql/ab/assign_variant_macro.sql``, and
tests/unit/test_ab_assignment_sql.py checks the two agree)::

    bucket   = int(md5(f"{experiment}:{user_id}").hexdigest()[:8], 16) / 0xFFFFFFFF
    variant  = the first variant whose cumulative normalized weight exceeds bucket (else the last)

Rollout (docs/serving.md), a second, independent hash of the same user::

    rollout_bucket(subject, user_id) = int(md5(f"{subject}#rollout:{user_id}").hexdigest()[:8], 16) / 2**32
    in the ramp at fraction f  <=>  f >= 1  or  rollout_bucket < f

``subject`` is the experiment name (an experiment's enrollment) or ``NAME@LABEL`` (a
promotion). The bucket depends on neither the stage nor the variants, so a user in the ramp at
5% is in it at 20% (monotone), and enrollment is independent of the variant split (different
hash input). Dividing by 2**32 keeps the bucket in [0, 1), so f = 0 admits nobody.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_MAX32 = 0xFFFFFFFF
_TWO32 = float(1 << 32)


def variant_bucket(experiment: str, unit_id: str) -> float:
    """The variant-split bucket of a unit in an experiment, in [0, 1]."""
    return int(hashlib.md5(f"{experiment}:{unit_id}".encode()).hexdigest()[:8], 16) / _MAX32


def cumulative_weights(weights: Sequence[float]) -> tuple[float, ...]:
    """Cumulative normalized weights, summed in the same order as ``assign_variant`` does."""
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0 with a positive sum")
    out, cumulative = [], 0.0
    for weight in weights:
        cumulative += weight / total
        out.append(cumulative)
    return tuple(out)


def pick(cumulative: Sequence[float], bucket: float) -> int:
    """Index of the first cumulative weight above ``bucket`` (the last index if none is)."""
    for index, edge in enumerate(cumulative):
        if edge > bucket:
            return index
    return len(cumulative) - 1


def assign_variant(
    experiment: str, unit_id: str, variants: Sequence[str], weights: Sequence[float] | None = None
) -> str:
    """The variant ``unit_id`` is assigned to: md5 of ``experiment:unit_id`` bucketed by weight.

    bucket = int(md5(f"{experiment}:{unit_id}").hexdigest()[:8], 16) / 0xFFFFFFFF; the first
    variant whose cumulative normalized weight exceeds the bucket (the last one if none does).
    """
    if not variants:
        raise ValueError("assign_variant needs at least one variant")
    weights = [1.0] * len(variants) if weights is None else weights
    if len(weights) != len(variants):
        raise ValueError("assign_variant: one weight per variant")
    return variants[pick(cumulative_weights(weights), variant_bucket(experiment, unit_id))]


def rollout_bucket(subject: str, unit_id: str) -> float:
    """The rollout bucket of a unit for a ramp subject, in [0, 1)."""
    return int(hashlib.md5(f"{subject}#rollout:{unit_id}".encode()).hexdigest()[:8], 16) / _TWO32


def in_rollout(subject: str, unit_id: str, fraction: float) -> bool:
    """Whether ``unit_id`` is inside a ramp of ``subject`` that admits ``fraction`` of units."""
    return fraction >= 1.0 or rollout_bucket(subject, unit_id) < fraction
