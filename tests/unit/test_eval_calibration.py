"""Judge calibration: Cohen's kappa against a published example and statsmodels, TPR/TNR and
Rogan–Gladen against a simulated judge of known error rates, and the agreement table on the real
Tulu human annotations (two people rating the same completions)."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from flywheel.tasks.evals import Confusion, agreement, cohens_kappa, pass_hat_k, rogan_gladen
from tests.conftest import SHARED_DATA

TULU = SHARED_DATA / "feedback" / "tulu1_human_eval_annotations.jsonl"


def test_kappa_matches_the_published_example_and_statsmodels() -> None:
    # Wikipedia, "Cohen's kappa", worked example: 50 proposals, yes/yes 20, yes/no 5,
    # no/yes 10, no/no 15: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    kappa, low, high = cohens_kappa(Confusion(20, 5, 10, 15))
    assert kappa == pytest.approx(0.4)
    # statsmodels.stats.inter_rater.cohens_kappa([[20, 5], [10, 15]]) (0.14.x): std 0.126996,
    # interval [0.151092, 0.648908]; and for [[41, 3], [7, 9]]: 0.537037 [0.287819, 0.786255].
    assert (low, high) == pytest.approx((0.151092290, 0.648907710))
    assert cohens_kappa(Confusion(41, 3, 7, 9)) == pytest.approx((0.537037, 0.287819, 0.786255),
                                                                  abs=1e-6)
    from statsmodels.stats import inter_rater  # a dev dependency: the reference, never skipped

    for table in ([[20, 5], [10, 15]], [[41, 3], [7, 9]], [[5, 0], [2, 30]]):
        ref = inter_rater.cohens_kappa(table)
        (tp, fn), (fp, tn) = table
        assert cohens_kappa(Confusion(tp, fn, fp, tn)) == pytest.approx(
            (ref.kappa, ref.kappa_low, ref.kappa_upp), abs=1e-9)


def test_kappa_is_undefined_without_labels_and_perfect_agreement_is_one() -> None:
    assert all(math.isnan(x) for x in cohens_kappa(Confusion(0, 0, 0, 0)))
    assert cohens_kappa(Confusion(30, 0, 0, 20))[0] == pytest.approx(1.0)


def _simulate(rng: np.random.Generator, n: int, prevalence: float, tpr: float, tnr: float
              ) -> list[tuple[bool, bool]]:
    human = rng.random(n) < prevalence
    u = rng.random(n)
    judge = np.where(human, u < tpr, u >= tnr)
    return list(zip(human.tolist(), judge.tolist(), strict=True))


def test_a_simulated_judge_of_known_tpr_tnr_is_recovered_within_its_interval() -> None:
    true_tpr, true_tnr, prevalence = 0.85, 0.75, 0.6
    tpr_hits = tnr_hits = rg_hits = 0
    for seed in range(100):
        pairs = _simulate(np.random.default_rng(seed), 400, prevalence, true_tpr, true_tnr)
        a = agreement("r", pairs, min_kappa=0.6)
        tpr_hits += a.tpr_ci[0] <= true_tpr <= a.tpr_ci[1]
        tnr_hits += a.tnr_ci[0] <= true_tnr <= a.tnr_ci[1]
        rg_hits += a.corrected_pass_rate_ci[0] <= prevalence <= a.corrected_pass_rate_ci[1]
    assert tpr_hits >= 93 and tnr_hits >= 93, (tpr_hits, tnr_hits)
    assert rg_hits >= 90, rg_hits  # the delta-method interval of the corrected pass rate


def test_rogan_gladen_corrects_a_biased_judge_on_fresh_outputs() -> None:
    """A judge calibrated on 500 labels, then used on 20,000 unlabelled outputs whose true pass
    rate is 0.3: the raw judge pass rate is biased, the corrected one is not."""
    rng = np.random.default_rng(7)
    cal = agreement("r", _simulate(rng, 500, 0.5, 0.9, 0.7), min_kappa=0.6)
    fresh = _simulate(rng, 20_000, 0.3, 0.9, 0.7)
    observed = sum(j for _, j in fresh)
    positives = cal.confusion.both_pass + cal.confusion.judge_fail_human_pass
    negatives = cal.n - positives
    pi, low, high = rogan_gladen(observed, len(fresh), cal.tpr, cal.tnr, positives, negatives)
    assert observed / len(fresh) == pytest.approx(0.48, abs=0.02)  # 0.3·0.9 + 0.7·0.3
    assert low <= 0.3 <= high and pi == pytest.approx(0.3, abs=0.05)
    assert math.isnan(rogan_gladen(10, 20, 0.5, 0.5, 10, 10)[0])  # a judge no better than chance


def test_pass_hat_k_is_the_chance_that_k_repeats_all_pass() -> None:
    assert pass_hat_k(2, 3, 1) == pytest.approx(2 / 3)
    assert pass_hat_k(2, 3, 2) == pytest.approx(1 / 3)
    assert pass_hat_k(2, 3, 3) == 0.0 and pass_hat_k(3, 3, 3) == 1.0
    assert math.isnan(pass_hat_k(1, 1, 2))


def tulu_rater_pairs(path: Path = TULU) -> list[tuple[str, bool, bool]]:
    """Completions two people rated: (completion, first rater's verdict, second's). The first
    by timestamp stands for the human label, the second for the judge being checked."""
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for line in path.read_text().splitlines():
        row = json.loads(line)
        groups[(row["instance_id"], row["model_a"], row["model_b"])].append(row)
    out = []
    for (instance, model_a, model_b), rows in sorted(groups.items()):
        if len(rows) < 2:
            continue
        first, second = sorted(rows, key=lambda r: (r["timestamp"], r["id"]))[:2]
        for side, model in (("a", model_a), ("b", model_b)):
            key = f"completion_{side}_is_acceptable"
            out.append((f"{instance}/{model}", first[key] == "yes", second[key] == "yes"))
    return out


@pytest.mark.skipif(not TULU.is_file(), reason=f"shared data not found: {TULU}")
def test_agreement_table_on_the_real_tulu_annotations() -> None:
    pairs = tulu_rater_pairs()
    assert len(pairs) == 2 * 62  # 53 items with two raters and 9 with three
    a = agreement("acceptable", [(h, j) for _, h, j in pairs], min_kappa=0.6)
    c = a.confusion
    assert c.n == 124 and c.both_pass + c.both_fail > 0.75 * c.n
    agree = (c.both_pass + c.both_fail) / c.n
    human = (c.both_pass + c.judge_fail_human_pass) / c.n
    judge = (c.both_pass + c.judge_pass_human_fail) / c.n
    expected = (agree - (human * judge + (1 - human) * (1 - judge))) / (
        1 - (human * judge + (1 - human) * (1 - judge)))
    assert a.kappa == pytest.approx(expected)
    assert a.kappa_ci[0] < a.kappa < a.kappa_ci[1]
