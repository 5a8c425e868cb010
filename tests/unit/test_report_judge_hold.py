"""Decisions resting on an llm-rubric judge that disagrees with people are held ("judge not
calibrated"); a calibrated judge, or one never calibrated, changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_report_rules import RULES, decide, evidence, experiment, offline

pytestmark = pytest.mark.unit


def judged(diff: float, ci: tuple[float, float], kappa: float | None) -> dict[str, Any]:
    return {**offline(diff, ci), "judge": [{"rubric": "Mentions the refund deadline",
                                             "kappa": kappa, "n": 124, "min_kappa": 0.6,
                                             "calibrated": kappa is not None and kappa >= 0.6}]}


def test_a_winner_whose_eval_rests_on_an_uncalibrated_judge_is_held() -> None:
    result = decide(evidence(experiment(), [judged(0.05, (-0.1, 0.2), 0.42)]), RULES)
    assert (result["decision"], result["rule"]) == ("HOLD", "hold.judge_not_calibrated")
    assert "judge not calibrated" in result["summary"] and "0.42" in result["summary"]


def test_an_offline_regression_measured_by_an_uncalibrated_judge_is_held_not_rejected() -> None:
    result = decide(evidence(experiment(), [judged(-0.3, (-0.5, -0.1), 0.1)]), RULES)
    assert (result["decision"], result["rule"]) == ("HOLD", "hold.judge_not_calibrated")
    checks = {c["rule"]: c["outcome"] for c in result["candidates"][0]["checks"]}
    assert checks["reject.offline_regression"] == "fired"  # still shown, but not deciding


def test_a_calibrated_or_never_calibrated_judge_changes_nothing() -> None:
    calibrated = decide(evidence(experiment(), [judged(0.05, (-0.1, 0.2), 0.8)]), RULES)
    assert (calibrated["decision"], calibrated["rule"]) == ("PROMOTE", "promote.online_win")
    checks = {c["rule"]: c["outcome"] for c in calibrated["candidates"][0]["checks"]}
    assert checks["hold.judge_not_calibrated"] == "passed"
    unmeasured = decide(evidence(experiment(), [offline(0.05, (-0.1, 0.2))]), RULES)
    assert unmeasured["rule"] == "promote.online_win"
    assert "hold.judge_not_calibrated" not in {c["rule"] for c in
                                               unmeasured["candidates"][0]["checks"]}
