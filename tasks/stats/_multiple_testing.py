"""Adjusted p-values for many comparisons: Holm–Bonferroni and Benjamini–Hochberg."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check_p_values(p_values: Sequence[float]) -> np.ndarray:
    values = np.asarray(p_values, dtype=float)
    if values.ndim != 1 or np.any(np.isnan(values)) or np.any((values < 0) | (values > 1)):
        raise ValueError("p-values must be numbers in [0, 1]")
    return values


def holm_bonferroni(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in input order:
    p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))."""
    values = _check_p_values(p_values)
    m = len(values)
    if m == 0:
        return []
    order = np.argsort(values, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * values[order])
    adjusted = np.maximum.accumulate(scaled)
    out = np.empty(m)
    out[order] = adjusted
    return [float(x) for x in out]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in input order:
    p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j)."""
    values = _check_p_values(p_values)
    m = len(values)
    if m == 0:
        return []
    order = np.argsort(values, kind="stable")
    scaled = np.minimum(1.0, m * values[order] / np.arange(1, m + 1))
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = adjusted
    return [float(x) for x in out]
