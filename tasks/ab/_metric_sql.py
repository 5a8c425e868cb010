"""The SQL of the ratio metrics, generated from their declarations (``tasks/ab/_metrics.py``).

The statements stay named files in ``sql/ab/``; where they need one column per metric they hold
a placeholder that is filled here: ``/*@user_sums*/`` with the per-user sums (each declared
:class:`UserSum` once) over one night's requests, ``/*@user_totals*/`` with their sums over the
nights (``n``: rows of ``ab_night_rows``), ``/*@arm_sums*/`` with the per-arm sums of every ratio metric's
numerator m and denominator d (and of their pre-period values mp, dp for CUPED), their squares
and cross products, named ``<metric>__<statistic>``. Still one wide aggregate per pass.

Per user, sums of non-integers (a :class:`UserSum` declared ``floating``) are exact decimals,
the same in any order. Per arm, their squares and products are doubles, summed in a fixed order
(``ORDER BY user_id``): DuckDB adds a parallel aggregate's partial sums in any order, and
re-running a night must give the same numbers to the last bit. Sums of integers are exact in any
order and stay unordered (ordering costs a sort).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache
from typing import Any

import duckdb

from flywheel.tasks.ab._metrics import Metric, UserSum, ratio_metrics
from flywheel.tasks.db import Params, sql_text

USER_SUMS = "/*@user_sums*/"
USER_TOTALS = "/*@user_totals*/"
ARM_SUMS = "/*@arm_sums*/"


def user_sums(metrics: Sequence[Metric]) -> list[UserSum]:
    """The distinct per-user sums the ratio ``metrics`` need, in declaration order."""
    found: dict[str, UserSum] = {}
    for metric in metrics:
        for part in (metric.numerator, metric.denominator):
            if part is None:
                continue
            if found.setdefault(part.name, part) != part:
                raise ValueError(f"two per-user sums are named {part.name!r}")
    return list(found.values())


def user_sums_select(metrics: Sequence[Metric], indent: str = "        ") -> str:
    """The select-list items ``<expression> AS <name>`` of the per-user sums (no trailing comma)."""
    return ",\n".join(f"{indent}{s.expression} AS {s.name}" for s in user_sums(metrics))


def user_totals_select(metrics: Sequence[Metric], indent: str = "        ") -> str:
    """The select-list items summing the per-user sums over the nights of ``n`` (no trailing
    comma): exact decimals stay decimals, counts stay BIGINT."""
    return ",\n".join(f"{indent}sum(n.{s.name}){'' if s.floating else '::BIGINT'} AS {s.name}"
                      for s in user_sums(metrics))


def _arm_columns(metric: Metric, post: str, pre: str | None) -> list[str]:
    assert metric.numerator is not None and metric.denominator is not None
    num, den = metric.numerator.name, metric.denominator.name
    floating = {"m": metric.numerator.floating, "d": metric.denominator.floating,
                "mp": metric.numerator.floating, "dp": metric.denominator.floating}
    values = {"m": f"{post}.{num}", "d": f"{post}.{den}"}
    if pre is not None:
        values |= {"mp": f"coalesce({pre}.{num}, 0)", "dp": f"coalesce({pre}.{den}, 0)"}
    # an exact decimal is summed as one (in any order), multiplied as a double (a product of two
    # DECIMAL(38, 10) could overflow)
    factors = {k: f"{v}::DOUBLE" if floating[k] else v for k, v in values.items()}
    order = f" ORDER BY {post}.user_id"  # a fixed summation order: a re-run gives the same bits
    columns = []
    for key, value in values.items():
        by = order if floating[key] else ""
        columns += [f"sum({value})::DOUBLE AS {metric.name}__{key}_sum",
                    f"sum(({factors[key]} * {factors[key]})::DOUBLE{by}) "
                    f"AS {metric.name}__{key}_sum_squares"]
    for (key_a, a), (key_b, b) in itertools.combinations(factors.items(), 2):
        by = order if floating[key_a] or floating[key_b] else ""
        columns.append(f"sum(({a} * {b})::DOUBLE{by}) AS {metric.name}__{key_a}_{key_b}")
    if pre is not None:
        columns.append(f"count(*) FILTER (WHERE {pre}.{den} > 0) AS {metric.name}__users_with_pre")
    return columns


def arm_sums_select(metrics: Sequence[Metric], *, post: str, pre: str | None,
                    indent: str = "    ") -> str:
    """The per-arm select-list items of every ratio metric over the per-user row ``post`` (and
    the pre-period row ``pre``, None for no CUPED columns), with no trailing comma."""
    return ",\n".join(f"{indent}{column}" for metric in metrics
                      for column in _arm_columns(metric, post, pre))


@cache
def metric_statement(name: str, metrics: tuple[Metric, ...]) -> str:
    """The text of ``sql/<name>.sql`` with its placeholders filled for ``metrics``."""
    return (sql_text(name)
            .replace(USER_SUMS, user_sums_select(metrics).lstrip())
            .replace(USER_TOTALS, user_totals_select(metrics).lstrip())
            .replace(ARM_SUMS, arm_sums_select(metrics, post="a", pre="p").lstrip()))


def run_metric_statement(con: duckdb.DuckDBPyConnection, name: str,
                         params: Params = None) -> duckdb.DuckDBPyConnection:
    """Execute the named statement, its placeholders filled for today's ratio metrics."""
    text = metric_statement(name, ratio_metrics())
    return con.execute(text, params) if params is not None else con.execute(text)


def fetch_metric_rows(con: duckdb.DuckDBPyConnection, name: str,
                      params: Params = None) -> list[dict[str, Any]]:
    """:func:`run_metric_statement`, its rows as dictionaries."""
    cursor = run_metric_statement(con, name, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
