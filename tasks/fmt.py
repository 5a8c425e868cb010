"""Number formatting shared by every text flywheel shows: reports and their templates, the A/B,
eval, serving and rollout summaries (plain text: the HTML environment escapes it, the Markdown
environment marks it as safe)."""

from __future__ import annotations

import math
from typing import Any

DASH = "–"


def _ok(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def pct(x: Any, digits: int = 1, signed: bool = True, missing: str = DASH) -> str:
    """0.094 → '+9.4%' (``missing`` for no number): flywheel's one percent formatter."""
    if not _ok(x):
        return missing
    return f"{x * 100:+.{digits}f}%" if signed else f"{x * 100:.{digits}f}%"


def rate(x: Any, digits: int = 1) -> str:
    """0.461 → '46.1%' (a share, unsigned)."""
    return pct(x, digits, signed=False)


def pts(x: Any) -> str:
    """A difference of two rates in percentage points: 0.385 → '+38.5 pts'."""
    return DASH if not _ok(x) else f"{x * 100:+.1f} pts"


def ci(low: Any, high: Any, kind: str = "pct") -> str:
    """An interval: '[+0.9%, +18.0%]' (``kind``: pct, pts, rate, num)."""
    if low is None and high is None:
        return DASH
    f = {"pct": pct, "pts": lambda v: pts(v).replace(" pts", ""), "rate": rate, "num": num,
         "score": score, "dscore": lambda v: score(v, True)}[kind]
    lo = f(low) if _ok(low) else "−∞"
    hi = f(high) if _ok(high) else "+∞"
    return f"[{lo}, {hi}]"


def score(x: Any, signed: bool = False) -> str:
    """An eval score (0–1) or a difference of scores, three decimals."""
    if not _ok(x):
        return DASH
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def pval(x: Any) -> str:
    """A p-value: 3 decimals, or 2 significant digits below 0.001."""
    if not _ok(x):
        return DASH
    return f"{x:.2g}" if x < 0.001 else f"{x:.3f}"


def num(x: Any, digits: int = 4) -> str:
    """A plain number: 4 significant digits, thousands separated when large."""
    if not _ok(x):
        return DASH
    if isinstance(x, int) or (abs(x) >= 1000 and float(x).is_integer()):
        return f"{int(x):,}"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}g}"


def count(x: Any) -> str:
    """An integer with thousands separators."""
    return DASH if not _ok(x) else f"{int(x):,}"


def days(x: Any) -> str:
    """Days, one decimal: '3.5 days'."""
    if not _ok(x):
        return DASH
    return f"{x:.1f} day" + ("" if round(x, 1) == 1 else "s")


def metric_value(metric: str, x: Any) -> str:
    """A metric's value in its unit (rates as %, latency in ms, cost in USD)."""
    if not _ok(x):
        return DASH
    if metric.endswith("_rate"):
        return rate(x, 2)
    if metric.startswith("latency"):
        return f"{x:,.0f} ms"
    if metric.startswith("cost"):
        return f"${x:.6f}"
    return num(x)
