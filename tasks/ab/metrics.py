"""The metrics an experiment is judged on (CONTRACTS §7), and how each one is computed.

Every metric is measured per user, the randomization unit. A *ratio* metric is Σ numerator /
Σ denominator over the users of an arm (request-level metrics such as latency are ratios over
users, analysed with the delta method); a *quantile* metric is a quantile of an arm's requests
with a cluster-robust order-statistic interval. The SQL in ``sql/ab/`` produces the numerator
and denominator of each ratio metric under the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Metric:
    """One metric: its name, how it is computed, and which direction is better."""

    name: str
    kind: Literal["ratio", "quantile"]
    lower_is_better: bool
    description: str
    quantile: float | None = None


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("thumbs_up_rate", "ratio", False, "thumbs up / thumbs given"),
        Metric("mean_rating", "ratio", False, "sum of ratings / ratings given (1-5)"),
        Metric("correction_rate", "ratio", True,
               "requests with a human correction / requests"),
        Metric("error_rate", "ratio", True, "requests with an error / requests"),
        Metric("latency_ms", "ratio", True, "mean latency per request (ms)"),
        Metric("latency_p50_ms", "quantile", True, "median request latency (ms)", 0.5),
        Metric("latency_p95_ms", "quantile", True, "95th percentile request latency (ms)", 0.95),
        Metric("tokens_per_request", "ratio", True,
               "prompt + completion tokens / requests with token counts"),
        Metric("cost_per_request", "ratio", True, "cost in USD / requests with a cost"),
    )
}

RATIO_METRICS = [m.name for m in METRICS.values() if m.kind == "ratio"]
QUANTILE_METRICS = [m.name for m in METRICS.values() if m.kind == "quantile"]
# sql/ab/user_arms.sql and arm_checks.sql carry one column per quantile metric (q1, q2)
assert len(QUANTILE_METRICS) == 2, "update sql/ab/user_arms.sql and arm_checks.sql"
