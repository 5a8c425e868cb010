"""The metrics an experiment is judged on (docs/contracts.md, "Formats": experiment files), each
declared once: its name, kind, direction, and for a ratio metric the per-user sums of its
numerator and denominator.

Every metric is measured per user, the randomization unit. A *ratio* metric is Σ numerator /
Σ denominator over the users of an arm (request-level metrics such as latency are ratios over
users, analysed with the delta method); a *quantile* metric is a quantile of an arm's requests
with a cluster-robust order-statistic interval. The per-user and per-arm SQL of the ratio
metrics is generated from these declarations (``tasks/ab/_metric_sql.py``): adding a ratio
metric is one entry in :data:`METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class UserSum:
    """One per-user sum: a SQL aggregate over one user's requests ``r`` (the ``requests`` row)
    and ``f`` (that request's feedback: thumbs, thumbs_up, ratings, rating_sum, corrected),
    named as the column that holds it."""

    name: str
    expression: str
    # a sum of non-integers: an exact decimal (:func:`exact_sum`), so any order of addition,
    # and a sum of per-night sums, gives the same number to the last bit (floating-point
    # addition is not associative; sums of integers are exact as they are)
    floating: bool = False


def exact_sum(column: str) -> str:
    """The SQL of an exact sum of a non-integer column: each value as ``DECIMAL(38, 10)`` (ten
    decimal places, 28 digits before the point; a value beyond that counts as missing)."""
    return f"coalesce(sum(try_cast({column} AS DECIMAL(38, 10))), 0)"


def exact_count(column: str) -> str:
    """The SQL of the count of values :func:`exact_sum` adds up."""
    return f"count(try_cast({column} AS DECIMAL(38, 10)))"


REQUESTS = UserSum("requests", "count(*)")
ERRORS = UserSum("errors", "count(*) FILTER (WHERE r.error IS NOT NULL)")
LATENCY_SUM = UserSum("latency_sum", exact_sum("r.latency_ms"), floating=True)
LATENCY_N = UserSum("latency_n", exact_count("r.latency_ms"))
TOKENS_SUM = UserSum("tokens_sum", "coalesce(sum(r.prompt_tokens + r.completion_tokens), 0)")
TOKENS_N = UserSum("tokens_n", "count(r.prompt_tokens + r.completion_tokens)")
COST_SUM = UserSum("cost_sum", exact_sum("r.cost_usd"), floating=True)
COST_N = UserSum("cost_n", exact_count("r.cost_usd"))
THUMBS = UserSum("thumbs", "coalesce(sum(f.thumbs), 0)")
THUMBS_UP = UserSum("thumbs_up", "coalesce(sum(f.thumbs_up), 0)")
RATINGS = UserSum("ratings", "coalesce(sum(f.ratings), 0)")
RATING_SUM = UserSum("rating_sum", "coalesce(sum(f.rating_sum), 0)",
                     floating=True)  # a rating may be 4.5: an exact decimal per request
CORRECTED = UserSum("corrected", "count(*) FILTER (WHERE f.corrected)")


@dataclass(frozen=True)
class Metric:
    """One metric: its name, how it is computed, and which direction is better.

    A ratio metric has a ``numerator`` and a ``denominator`` (per-user sums); a quantile metric
    has the ``quantile`` level of request latency it reports.
    """

    name: str
    kind: Literal["ratio", "quantile"]
    lower_is_better: bool
    description: str
    quantile: float | None = None
    numerator: UserSum | None = None
    denominator: UserSum | None = None

    def __post_init__(self) -> None:
        has_sums = self.numerator is not None and self.denominator is not None
        if (self.kind == "ratio") != has_sums:
            raise ValueError(f"metric {self.name}: a ratio metric, and only one, has a "
                             "numerator and a denominator")
        if (self.kind == "quantile") != (self.quantile is not None):
            raise ValueError(f"metric {self.name}: a quantile metric, and only one, has a level")


def ratio(name: str, lower_is_better: bool, description: str, numerator: UserSum,
          denominator: UserSum) -> Metric:
    """A ratio metric Σ numerator / Σ denominator over an arm's users."""
    return Metric(name, "ratio", lower_is_better, description,
                  numerator=numerator, denominator=denominator)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        ratio("thumbs_up_rate", False, "thumbs up / thumbs given", THUMBS_UP, THUMBS),
        ratio("mean_rating", False, "sum of ratings / ratings given (1-5)", RATING_SUM, RATINGS),
        ratio("correction_rate", True, "requests with a human correction / requests",
              CORRECTED, REQUESTS),
        ratio("error_rate", True, "requests with an error / requests", ERRORS, REQUESTS),
        ratio("latency_ms", True, "mean latency per request (ms)", LATENCY_SUM, LATENCY_N),
        Metric("latency_p50_ms", "quantile", True, "median request latency (ms)", 0.5),
        Metric("latency_p95_ms", "quantile", True, "95th percentile request latency (ms)", 0.95),
        ratio("tokens_per_request", True,
              "prompt + completion tokens / requests with token counts", TOKENS_SUM, TOKENS_N),
        ratio("cost_per_request", True, "cost in USD / requests with a cost", COST_SUM, COST_N),
    )
}

RATIO_METRICS = [m.name for m in METRICS.values() if m.kind == "ratio"]
QUANTILE_METRICS = [m.name for m in METRICS.values() if m.kind == "quantile"]
# sql/ab/user_arms.sql and arm_checks.sql carry one column per quantile metric (q1, q2)
assert len(QUANTILE_METRICS) == 2, "update sql/ab/user_arms.sql and arm_checks.sql"


def ratio_metrics() -> tuple[Metric, ...]:
    """The ratio metrics of :data:`METRICS` as they are now, in declaration order."""
    return tuple(m for m in METRICS.values() if m.kind == "ratio")
