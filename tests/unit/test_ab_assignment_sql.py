"""The variant split has one definition in Python (``tasks/serving/assignment.py``) and one
SQL macro (``sql/ab/assign_variant_macro.sql``): the two give every unit the same arm."""

from __future__ import annotations

import random

import duckdb
import pytest

from flywheel.tasks.db import run
from flywheel.tasks.serving.assignment import assign_variant, cumulative_weights, variant_bucket
from flywheel.tasks.stats import assign_variant as stats_assign_variant

pytestmark = pytest.mark.unit


def _cases(seed: int, experiments: int, users: int) -> list[tuple[str, str, list[str], list[float]]]:
    rng = random.Random(seed)
    cases = []
    for e in range(experiments):
        arms = rng.randint(1, 5)
        variants = [f"v{k}" for k in range(arms)]
        weights = [rng.choice([0.0, 1.0, 2.5, rng.random()]) for _ in range(arms)]
        if sum(weights) <= 0:
            weights[-1] = 1.0
        name = f"exp-{e}-{rng.getrandbits(32):08x}"
        for u in range(users):
            cases.append((name, f"user-{u}-{rng.getrandbits(24)}", variants, weights))
    return cases


def test_python_and_sql_assign_the_same_variant_to_every_unit() -> None:
    cases = _cases(seed=17, experiments=60, users=400)
    con = duckdb.connect()
    run(con, "ab/assign_variant_macro")
    con.execute("CREATE TABLE units (i INTEGER, experiment VARCHAR, user_id VARCHAR, "
                "variants VARCHAR[], cum DOUBLE[])")
    con.executemany("INSERT INTO units VALUES (?, ?, ?, ?, ?)", [
        (i, e, u, v, list(cumulative_weights(w))) for i, (e, u, v, w) in enumerate(cases)])
    rows = con.execute("SELECT i, fw_assign_variant(experiment, user_id, variants, cum), "
                       "fw_variant_bucket(experiment, user_id) FROM units ORDER BY i").fetchall()
    assert len(rows) == len(cases) == 24_000
    for (i, sql_variant, sql_bucket), (e, u, v, w) in zip(rows, cases, strict=True):
        assert sql_bucket == variant_bucket(e, u), i
        assert sql_variant == assign_variant(e, u, v, w), i


def test_the_statistics_api_exports_the_one_assign_variant() -> None:
    assert stats_assign_variant is assign_variant
