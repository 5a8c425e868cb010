"""The ``allocation:`` key of an experiment file (docs/contracts.md, "Experiment files"): how a
bandit experiment moves traffic between its arms once a night (docs/statistics.md, "Adaptive
allocation").

    allocation: {method: thompson, burn_in_days: 3, min_share: 0.1,
                 stop_when: {prob_best: 0.95, expected_loss: 0.01}}

A bad value is a :class:`UsageError` naming the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flywheel.tasks.errors import UsageError

METHODS = ("thompson", "top-two", "track-and-stop")
DEFAULT_BURN_IN_DAYS = 2
DEFAULT_MIN_SHARE = 0.05
DEFAULT_PROB_BEST = 0.95
DEFAULT_EXPECTED_LOSS = 0.01  # relative to the control's mean


@dataclass(frozen=True)
class AllocationPlan:
    """A validated ``allocation:`` block."""

    method: str  # one of METHODS
    burn_in_days: int = DEFAULT_BURN_IN_DAYS  # days from start served with the declared weights
    min_share: float = DEFAULT_MIN_SHARE  # floor of every arm's weight
    prob_best: float = DEFAULT_PROB_BEST  # stop when an arm is best with this probability ...
    expected_loss: float = DEFAULT_EXPECTED_LOSS  # ... and choosing it loses at most this


def _fail(path: Path, key: str, message: str) -> UsageError:
    return UsageError(f"{path}: allocation.{key}: {message}")


def _fraction(path: Path, key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, key, f"must be a number, not {value!r}")
    if not low <= value < high:
        raise _fail(path, key, f"must be in [{low:g}, {high:g}), not {value!r}")
    return float(value)


def _stop(path: Path, raw: Any) -> tuple[float, float]:
    if raw is None:
        return DEFAULT_PROB_BEST, DEFAULT_EXPECTED_LOSS
    if not isinstance(raw, Mapping):
        raise _fail(path, "stop_when", "must be {prob_best: P, expected_loss: L}")
    extra = set(raw) - {"prob_best", "expected_loss"}
    if extra:
        raise _fail(path, "stop_when", f"unknown key(s): {', '.join(sorted(map(str, extra)))}")
    prob = _fraction(path, "stop_when.prob_best", raw.get("prob_best", DEFAULT_PROB_BEST),
                     0.5, 1.0)
    loss = _fraction(path, "stop_when.expected_loss",
                     raw.get("expected_loss", DEFAULT_EXPECTED_LOSS), 0.0, 1.0)
    return prob, loss


def parse_allocation(path: Path, raw: Any, arms: int, primary_is_ratio: bool,
                     sequential: bool) -> AllocationPlan | None:
    """The plan of an ``allocation:`` value (None when absent)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"method": raw}
    if not isinstance(raw, Mapping):
        raise UsageError(f"{path}: allocation: must be {{method: {' | '.join(METHODS)}, "
                         "burn_in_days, min_share, stop_when: {prob_best, expected_loss}}")
    extra = set(raw) - {"method", "burn_in_days", "min_share", "stop_when"}
    if extra:
        raise UsageError(f"{path}: allocation: unknown key(s): "
                         f"{', '.join(sorted(map(str, extra)))}")
    method = raw.get("method")
    if method not in METHODS:
        raise _fail(path, "method", f"must be one of {', '.join(METHODS)}, not {method!r}")
    if not primary_is_ratio:
        raise UsageError(f"{path}: allocation: the primary metric must be a ratio metric "
                         "(a quantile metric has no per-period posterior)")
    if sequential:
        raise UsageError(f"{path}: allocation: cannot be combined with sequential testing "
                         "(a bandit's estimate is the period-stratified one)")
    days = raw.get("burn_in_days", DEFAULT_BURN_IN_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise _fail(path, "burn_in_days", f"must be an integer >= 1, not {days!r}")
    share = _fraction(path, "min_share", raw.get("min_share", DEFAULT_MIN_SHARE), 0.0, 1.0)
    if share * arms >= 1:
        raise _fail(path, "min_share", f"{share:g} × {arms} arms leaves nothing to allocate "
                    f"(must be below {1 / arms:g})")
    prob, loss = _stop(path, raw.get("stop_when"))
    return AllocationPlan(str(method), days, share, prob, loss)
