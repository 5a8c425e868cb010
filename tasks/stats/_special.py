"""scipy.special's distribution functions (the ones scipy.stats calls underneath), used directly:
the nightly run evaluates thousands of them and the frozen-distribution overhead dominates."""

from __future__ import annotations

import math

from scipy import special

_SQRT_2PI = math.sqrt(2 * math.pi)


def t_sf(x: float, df: float) -> float:
    return float(special.stdtr(df, -x))


def t_ppf(q: float, df: float) -> float:
    return float(special.stdtrit(df, q))


def norm_cdf(x: float) -> float:
    return float(special.ndtr(x))


def norm_ppf(q: float) -> float:
    return float(special.ndtri(q))


def norm_pdf(x: float) -> float:
    return math.exp(-x * x / 2) / _SQRT_2PI
