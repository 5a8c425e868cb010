"""Assignment at serving time: the stdlib variant split is the one flywheel.tasks.stats exports, and
the rollout bucket is monotone over stages and independent of the variant split."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, chi2_contingency

from flywheel.tasks.serving import assignment
from flywheel.tasks.serving.assignment import in_rollout, rollout_bucket, variant_bucket
from flywheel.tasks.stats import assign_variant

pytestmark = pytest.mark.unit

names = st.text(min_size=1, max_size=20)
users = st.text(min_size=0, max_size=30)
weights = st.lists(st.floats(min_value=0.0, max_value=10.0, allow_nan=False), min_size=1,
                   max_size=5).filter(lambda w: sum(w) > 0)
stages = st.lists(st.floats(min_value=0.001, max_value=1.0, allow_nan=False), min_size=1,
                  max_size=6, unique=True).map(sorted)


@settings(max_examples=300, deadline=None)
@given(experiment=names, user=users, w=weights)
def test_the_stdlib_split_is_the_contract_assign_variant(experiment: str, user: str,
                                                          w: list[float]) -> None:
    variants = [f"v{i}" for i in range(len(w))]
    assert assignment.assign_variant(experiment, user, variants, w) == assign_variant(
        experiment, user, variants, w)
    assert assignment.assign_variant(experiment, user, variants) == assign_variant(
        experiment, user, variants)


def test_buckets_follow_the_documented_formulas() -> None:
    digest = hashlib.md5(b"tone-test:user-7").hexdigest()
    assert variant_bucket("tone-test", "user-7") == int(digest[:8], 16) / 0xFFFFFFFF
    digest = hashlib.md5(b"tone-test#rollout:user-7").hexdigest()
    assert rollout_bucket("tone-test", "user-7") == int(digest[:8], 16) / 2**32


@settings(max_examples=300, deadline=None)
@given(subject=names, user_list=st.lists(users, min_size=1, max_size=40, unique=True),
       ramp=stages)
def test_a_user_inside_a_stage_is_inside_every_later_stage(
    subject: str, user_list: list[str], ramp: list[float]
) -> None:
    inside = [{u for u in user_list if in_rollout(subject, u, f)} for f in ramp]
    for earlier, later in itertools.pairwise(inside):
        assert earlier <= later
    assert not {u for u in user_list if in_rollout(subject, u, 0.0)}
    assert {u for u in user_list if in_rollout(subject, u, 1.0)} == set(user_list)


@settings(max_examples=200, deadline=None)
@given(subject=names, user=users)
def test_the_rollout_bucket_is_in_the_half_open_unit_interval(subject: str, user: str) -> None:
    assert 0.0 <= rollout_bucket(subject, user) < 1.0


def test_share_inside_matches_the_stage_fraction() -> None:
    n = 20000
    user_ids = [f"user-{i}" for i in range(n)]
    for fraction in (0.05, 0.2, 0.5):
        inside = sum(in_rollout("support@production", u, fraction) for u in user_ids)
        assert binomtest(inside, n, fraction).pvalue > 0.001, (fraction, inside)


def test_enrollment_is_independent_of_the_variant_split() -> None:
    """Chi-squared test of enrolled x variant over 20,000 users (scipy as the reference)."""
    user_ids = [f"user-{i}" for i in range(20000)]
    table = np.zeros((2, 2))
    for u in user_ids:
        arm = assignment.assign_variant("tone-test", u, ["control", "friendly"])
        table[int(in_rollout("tone-test", u, 0.3)), arm == "friendly"] += 1
    assert chi2_contingency(table).pvalue > 0.001
    # and the enrolled users still split 50/50
    enrolled = table[1]
    assert binomtest(int(enrolled[1]), int(enrolled.sum()), 0.5).pvalue > 0.001
