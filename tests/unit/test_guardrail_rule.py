"""Guardrails that guard (issue 21, item 8): a guardrail significantly worse and not shown within
its margin holds the promotion (hold.guardrail_worse) with its evidence and the users that would
show the margin; cost can be declared a guardrail of every experiment; the cost per successful
answer is shown beside the quality lift. Hand-made evidence, as in test_report_rules."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from flywheel.tasks.ab import Guardrail, guardrail_status
from flywheel.tasks.reports import DecisionRules, load_rules
from tests.unit.test_report_rules import decide, evidence, experiment, metric_row

pytestmark = pytest.mark.unit

RULES = DecisionRules()


def p95_guard(**overrides: Any) -> dict[str, Any]:
    """The demo's 2026-11-10 support report: +9.6% [+4.4%, +14.8%] against a 10% margin."""
    guard = {"metric": "latency_p95_ms", "variant": "treat", "worse_if": "increase",
             "max_relative_change": 0.10, "estimate": 0.096, "ci_low": 0.044, "ci_high": 0.148,
             "status": "inconclusive", "significantly_worse": True,
             "units_to_show_margin": 2_900_000, "units_so_far": 17_152, "unit": "requests"}
    return guard | overrides


def test_the_verdict_marks_a_guardrail_significantly_worse_when_its_interval_excludes_zero(
) -> None:
    guard = Guardrail("latency_p95_ms", "increase", 0.10)
    row = {"estimate": 0.096, "ci_low": 0.044, "ci_high": 0.148}
    verdict = guardrail_status(guard, row)
    assert verdict["status"] == "inconclusive" and verdict["significantly_worse"] is True
    assert not guardrail_status(guard, {**row, "ci_low": -0.01})["significantly_worse"]
    lower = guardrail_status(Guardrail("thumbs_up_rate", "decrease", 0.05),
                             {"estimate": -0.03, "ci_low": -0.06, "ci_high": -0.001})
    assert lower["status"] == "inconclusive" and lower["significantly_worse"] is True


def test_a_significantly_worse_unproven_guardrail_holds_the_winner() -> None:
    result = decide(evidence(experiment(guardrails=[p95_guard()])), RULES)
    assert (result["decision"], result["rule"]) == ("HOLD", "hold.guardrail_worse")
    summary = result["summary"]
    assert "latency_p95_ms +9.6% [+4.4%, +14.8%] is significantly worse" in summary
    assert "2,900,000 requests in the two arms would show it (17,152 so far)" in summary
    checks = {c["rule"]: c["outcome"] for c in result["candidates"][0]["checks"]}
    assert checks["hold.guardrail_worse"] == "fired" and checks["promote.online_win"] == "n/a"
    # requests: at the requests so far per day running (17,152 in 8 days)
    assert result["days_more"] == pytest.approx((2_900_000 - 17_152) / (17_152 / 8.0))


def test_a_candidate_that_has_not_won_yet_is_collecting_not_held_by_the_guardrail() -> None:
    result = decide(evidence(experiment(guardrails=[p95_guard()], days_running=4.5)), RULES)
    assert (result["decision"], result["rule"]) == ("HOLD", "hold.collecting")
    checks = {c["rule"]: c["outcome"] for c in result["candidates"][0]["checks"]}
    assert checks["hold.guardrail_worse"] == "n/a"


def test_the_days_to_show_the_margin_are_at_the_current_rate_of_new_users() -> None:
    guard = p95_guard(metric="error_rate", unit="users", units_to_show_margin=29_000,
                      units_so_far=9_000)
    result = decide(evidence(experiment(guardrails=[guard])), RULES)
    assert result["rule"] == "hold.guardrail_worse"
    assert result["days_more"] == pytest.approx(20.0)  # 20,000 more at 1,000 new users/day


def test_the_rule_can_be_switched_off_and_a_beyond_margin_estimate_needs_no_sample(
        tmp_path: Path) -> None:
    (tmp_path / "decisions.yaml").write_text(
        "promote: {hold_on_significantly_worse_guardrail: false}\n")
    off = decide(evidence(experiment(guardrails=[p95_guard()])), load_rules(tmp_path))
    assert (off["decision"], off["rule"]) == ("PROMOTE", "promote.online_win")
    beyond = p95_guard(estimate=0.12, ci_low=0.05, ci_high=0.19, units_to_show_margin=None)
    held = decide(evidence(experiment(guardrails=[beyond])), RULES)
    assert held["rule"] == "hold.guardrail_worse"
    assert "no sample shows it while the estimate is beyond the margin" in held["summary"]


def _cost_row(estimate: float, ci: tuple[float, float]) -> dict[str, Any]:
    return {**metric_row("cost_per_request", estimate=estimate, ci=ci, direction="worse"),
            "control_mean": 0.000023, "treatment_mean": 0.000023 * (1 + estimate)}


def test_cost_declared_a_guardrail_in_the_rules_rejects_or_holds(tmp_path: Path) -> None:
    (tmp_path / "decisions.yaml").write_text("promote: {cost_guardrail: 0.25}\n")
    rules = load_rules(tmp_path)
    pricey = experiment(metrics=[metric_row(), _cost_row(0.656, (0.645, 0.667))])
    assert decide(evidence(pricey), RULES)["decision"] == "PROMOTE"  # not weighed by default
    result = decide(evidence(pricey), rules)
    assert (result["decision"], result["rule"]) == ("REJECT", "reject.guardrail_fail")
    assert "cost_per_request +65.6%" in result["summary"]
    unproven = experiment(metrics=[metric_row(), _cost_row(0.10, (0.02, 0.28))])
    assert decide(evidence(unproven), rules)["rule"] == "hold.guardrail_worse"
    cheap = experiment(metrics=[metric_row(), _cost_row(0.02, (-0.01, 0.05))])
    assert decide(evidence(cheap), rules)["rule"] == "promote.online_win"


def test_the_promotion_shows_the_cost_per_successful_answer_beside_the_lift() -> None:
    exp = experiment(metrics=[metric_row(), _cost_row(0.656, (0.645, 0.667))])
    result = decide(evidence(exp), RULES)
    # cost per request / thumbs-up rate, per arm: 0.000023/0.6 and 0.000023·1.656/0.66
    before, after = 0.000023 / 0.6, 0.000023 * 1.656 / 0.66
    assert f"${before:.6f} → ${after:.6f} (+{(after / before - 1) * 100:.1f}%)" in result["summary"]


def test_users_to_show_the_margin_in_the_analysis_match_the_fixed_horizon_formula() -> None:
    """In the A/B analysis the units that would show a margin solve est + z·se·√(n/N) = margin
    (z the normal quantile: scipy)."""
    from datetime import UTC, datetime

    from flywheel.tasks.ab import ArmData, Experiment, ExperimentData, Thresholds, analyze_experiment

    def sums(users: int, errors: int) -> dict[str, float]:
        return {"n": users, "m_sum": errors, "m_sum_squares": errors, "d_sum": users,
                "d_sum_squares": users, "m_d": errors, "users_with_pre": 0, "dp_sum": 0}

    exp = Experiment("e", {"control": "p:a", "b": "p:b"}, (0.5, 0.5),
                     datetime(2026, 11, 1, tzinfo=UTC), None, "thumbs_up_rate",
                     (Guardrail("error_rate", "increase", 0.5),))
    arms = {"control": ArmData("control", users=3000, ratio={"error_rate": sums(3000, 60)}),
            "b": ArmData("b", users=3000, ratio={"error_rate": sums(3000, 84)})}
    report = analyze_experiment(ExperimentData(exp, arms, 0, 6000), Thresholds(), None)
    (guard,) = report["guardrails"]
    row = next(m for m in report["metrics"] if m["metric"] == "error_rate")
    assert guard["status"] == "inconclusive" and guard["significantly_worse"] is False
    z = stats.norm.ppf(0.975)
    expected = 6000 * (z * row["se"] / (0.5 - row["estimate"])) ** 2
    assert guard["units_to_show_margin"] == math.ceil(expected)
    assert guard["unit"] == "users" and guard["units_so_far"] == 6000
