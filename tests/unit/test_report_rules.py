"""The decision rules on hand-made evidence (every rule, the order, the thresholds file), the
Markdown escaping, the commands, file names and chart determinism. No store, no Prefect."""

from __future__ import annotations

import copy
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from flywheel.tasks import reports as charts
from flywheel.tasks.errors import UsageError
from flywheel.tasks.reports import (
    Decision,
    DecisionRules,
    Subject,
    commands_for,
    evidence_of,
    file_stem,
    load_rules,
    md,
    md_fence,
)
from flywheel.tasks.reports import decide as decide_typed

pytestmark = pytest.mark.unit

PROD, CAND = "a" * 64, "b" * 64


def metric_row(metric: str = "thumbs_up_rate", *, estimate: float | None = 0.1,
               ci: tuple[float, float] = (0.04, 0.16), p: float = 0.001,
               status: str = "significant", direction: str | None = "better") -> dict[str, Any]:
    return {"metric": metric, "variant": "treat", "control": "control", "estimate": estimate,
            "ci_low": ci[0], "ci_high": ci[1], "p_value": p / 2, "p_value_adjusted": p,
            "chance_to_win": 0.99, "status": status, "direction": direction, "error": None,
            "control_mean": 0.6, "treatment_mean": 0.66}


def experiment(**overrides: Any) -> dict[str, Any]:
    exp = {
        "name": "exp", "primary_metric": "thumbs_up_rate", "control": "control",
        "metrics": [metric_row()], "trustworthy": True,
        "checks": {"srm_p_value": 0.4, "assignment_mismatch_share": 0.0, "multi_arm_users": 0,
                   "failed": [], "thresholds": {"srm_p_value": 0.001, "max_mismatch_share": 0.01,
                                                "max_multi_arm_share": 0.01}},
        "guardrails": [{"metric": "latency_p95_ms", "variant": "treat", "worse_if": "increase",
                        "max_relative_change": 0.1, "estimate": 0.02, "ci_low": -0.01,
                        "ci_high": 0.05, "status": "pass"}],
        "sample": {"metric": "thumbs_up_rate", "unit": "users", "mde": 0.05,
                   "target_power": 0.8, "so_far": 9000, "needed": 12000, "reached": False,
                   "days_remaining": 3.0, "new_units_per_day": 1000.0, "note": None},
        "days_running": 8.0, "control_is_production": True, "control_hash": PROD,
    }
    exp.update(overrides)
    return exp


def evidence(exp: dict[str, Any] | None = None, evals: list[dict[str, Any]] | None = None,
             ) -> dict[str, Any]:
    return {
        "prompt": "support", "production": {"hash": PROD, "short": PROD[:12]},
        "candidates": [{"hash": CAND, "short": CAND[:12], "ref": f"support:{CAND[:12]}",
                        "sources": ["x"], "arms": [{"experiment": "exp", "variant": "treat"}]
                        if exp else [], "evals": evals or []}],
        "experiments": [exp] if exp else [], "promotion": None, "holdbacks": [], "alerts": None,
    }


def offline(diff: float, ci: tuple[float, float]) -> dict[str, Any]:
    return {"evalset": "support", "demo_model": True, "comparison": {
        "paired_cases": 26, "baseline_pass_rate": 0.8, "candidate_pass_rate": 0.8 + diff,
        "pass_rate_diff": diff, "pass_rate_diff_ci": list(ci),
        "mcnemar": {"regressions": 5, "improvements": 1, "p_value": 0.2}}}


RULES = DecisionRules()


def decide(raw: dict[str, Any], rules: DecisionRules) -> dict[str, Any]:
    """The decision on hand-made evidence, typed on the way in, as the report stores it."""
    return decide_typed(evidence_of(raw), rules).to_dict()


def test_a_significant_better_trustworthy_candidate_after_the_minimum_run_time_is_promoted(
) -> None:
    result = decide(evidence(experiment()), RULES)
    assert (result["decision"], result["rule"]) == ("PROMOTE", "promote.online_win")
    assert result["subject"]["hash"] == CAND
    fired = [c["rule"] for c in result["candidates"][0]["checks"] if c["outcome"] == "fired"]
    assert fired == ["promote.online_win"]


def test_before_the_minimum_run_time_the_winner_is_held_for_the_days_left() -> None:
    result = decide(evidence(experiment(days_running=4.5)), RULES)
    assert (result["decision"], result["rule"]) == ("HOLD", "hold.collecting")
    assert result["days_more"] == pytest.approx(2.5)
    assert "minimum run time" in result["summary"]


def test_collecting_reports_the_days_to_the_planned_sample_at_current_traffic() -> None:
    exp = experiment(metrics=[metric_row(status="collecting", p=0.2, ci=(-0.01, 0.2))])
    result = decide(evidence(exp), RULES)
    assert result["decision"] == "HOLD" and result["days_more"] == pytest.approx(3.0)
    assert "3,000 more users" in result["summary"] and "1,000 new users/day" in result["summary"]


@pytest.mark.parametrize(("exp", "evals", "rule"), [
    (experiment(), [offline(-0.3, (-0.5, -0.1))], "reject.offline_regression"),
    (experiment(), [offline(-0.12, (-0.3, 0.05))], "reject.offline_regression"),
    (experiment(metrics=[metric_row(estimate=-0.1, ci=(-0.16, -0.04), direction="worse")]),
     None, "reject.online_worse"),
    (experiment(guardrails=[{**experiment()["guardrails"][0], "status": "fail"}]), None,
     "reject.guardrail_fail"),
    (experiment(metrics=[metric_row(status="not significant", p=0.4, ci=(-0.02, 0.03))],
                sample={**experiment()["sample"], "so_far": 25000, "reached": True}), None,
     "reject.futility"),
])
def test_each_reject_rule(exp: dict[str, Any], evals: list[dict[str, Any]] | None,
                          rule: str) -> None:
    result = decide(evidence(exp, evals), RULES)
    assert (result["decision"], result["rule"]) == ("REJECT", rule)


def test_a_small_offline_drop_within_the_limits_does_not_reject() -> None:
    result = decide(evidence(experiment(), [offline(-0.04, (-0.2, 0.1))]), RULES)
    assert result["decision"] == "PROMOTE"


def test_an_inconclusive_guardrail_blocks_only_when_the_rules_say_so(tmp_path: Path) -> None:
    guard = {**experiment()["guardrails"][0], "status": "inconclusive", "ci_high": 0.14}
    exp = experiment(guardrails=[guard])
    assert decide(evidence(exp), RULES)["decision"] == "PROMOTE"
    assert "not yet shown safe" in decide(evidence(exp), RULES)["summary"]
    (tmp_path / "decisions.yaml").write_text("promote: {guardrails_block_on: inconclusive}\n")
    strict = decide(evidence(exp), load_rules(tmp_path))
    assert (strict["decision"], strict["rule"]) == ("HOLD", "hold.collecting")


def test_a_control_that_is_not_production_holds() -> None:
    result = decide(evidence(experiment(control_is_production=False, control_hash="c" * 64)),
                    RULES)
    assert (result["decision"], result["rule"]) == ("HOLD", "hold.control_not_production")


def test_a_candidate_without_an_experiment_is_held_not_promoted() -> None:
    result = decide(evidence(None, [offline(0.3, (0.1, 0.5))]), RULES)
    assert (result["decision"], result["rule"]) == ("HOLD", "hold.no_experiment")
    assert result["days_more"] is None


FAILED = st.lists(st.sampled_from(["srm", "assignment_mismatch", "multi_arm_users",
                                   "empty_arms"]), min_size=1, unique=True)
STATUS = st.sampled_from(["significant", "not significant", "collecting", "untrustworthy"])
FLOATS = st.floats(-1, 1, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(failed=FAILED, status=STATUS, estimate=FLOATS, width=st.floats(0, 1),
       p=st.floats(0, 1), days_running=st.floats(0, 60), direction=st.sampled_from(
           ["better", "worse", None]), guard=st.sampled_from(["pass", "fail", "inconclusive",
                                                              "untrustworthy"]),
       offline_diff=st.none() | st.floats(-1, 1))
def test_an_untrustworthy_experiment_never_yields_promote(
    failed: list[str], status: str, estimate: float, width: float, p: float,
    days_running: float, direction: str | None, guard: str, offline_diff: float | None,
) -> None:
    exp = experiment(
        trustworthy=False, days_running=days_running,
        checks={**experiment()["checks"], "failed": failed, "srm_p_value": 1e-9},
        metrics=[metric_row(estimate=estimate, ci=(estimate - width, estimate + width), p=p,
                            status=status, direction=direction)],
        guardrails=[{**experiment()["guardrails"][0], "status": guard}])
    evals = [offline(offline_diff, (offline_diff - 0.1, offline_diff + 0.1))] \
        if offline_diff is not None else None
    result = decide(evidence(exp, evals), RULES)
    assert result["decision"] in ("HOLD", "REJECT")
    assert all(v["decision"] != "PROMOTE" for v in result["candidates"])
    if result["decision"] == "HOLD":
        assert result["rule"] == "hold.untrustworthy" and result["days_more"] is None


def test_the_same_numbers_on_a_trustworthy_experiment_do_promote() -> None:
    """The property above is not vacuous: flipping only trustworthiness gives PROMOTE."""
    exp = experiment(trustworthy=False, checks={**experiment()["checks"], "failed": ["srm"]})
    assert decide(evidence(exp), RULES)["decision"] == "HOLD"
    exp["trustworthy"], exp["checks"]["failed"] = True, []
    assert decide(evidence(exp), RULES)["decision"] == "PROMOTE"


# ------------------------------------------------------------------------- rules file


def test_rules_file_overrides_defaults_and_per_prompt(tmp_path: Path) -> None:
    (tmp_path / "decisions.yaml").write_text(
        "promote: {min_days: 3}\n"
        "reject: {offline_max_pass_rate_drop: null, futility_sample_factor: 3}\n"
        "rollback:\n  metric: mean_rating\n  guardrails:\n"
        "    - {metric: latency_p95_ms, max_relative_change: 0.2}\n"
        "prompts:\n  support: {promote: {min_days: 10}}\n")
    rules = load_rules(tmp_path)
    assert rules.promote.min_days == 3 and rules.reject.offline_max_pass_rate_drop is None
    assert rules.reject.futility_sample_factor == 3 and rules.rollback.metric == "mean_rating"
    assert rules.rollback.guardrails[0].worse_if == "increase"  # latency: lower is better
    assert rules.for_prompt("support").promote.min_days == 10
    assert rules.for_prompt("summarizer").promote.min_days == 3
    assert rules.source == str(tmp_path / "decisions.yaml")
    held = decide(evidence(experiment(days_running=8)), rules.for_prompt("support"))
    assert held["decision"] == "HOLD" and held["days_more"] == pytest.approx(2)
    assert DecisionRules().promote.min_days == 7


@pytest.mark.parametrize(("text", "message"), [
    ("promote: {min_dayz: 3}\n", "decisions.yaml: promote.min_dayz: unknown key; known: "),
    ("promote: {min_days: -1}\n", "promote.min_days: must be >= 0"),
    ("promote: {guardrails_block_on: never}\n", "promote.guardrails_block_on: must be one of"),
    ("rollback: {metric: happiness}\n", "rollback.metric: unknown metric 'happiness'"),
    ("rollback: {guardrails: [{metric: latency_p95_ms, worse_if: up}]}\n",
     "rollback.guardrails[0].worse_if: must be one of increase, decrease"),
    ("reject: {guardrail_fail: 1}\n", "reject.guardrail_fail: must be true or false"),
    ("promot: {}\n", "promot: unknown section"),
    ("prompts: {support: {promote: {min_days: x}}}\n", "prompts.support: promote.min_days"),
    ("promote: [1\n", "not valid YAML"),
])
def test_a_bad_rules_file_names_the_file_and_the_key(tmp_path: Path, text: str,
                                                     message: str) -> None:
    (tmp_path / "decisions.yaml").write_text(text)
    with pytest.raises(UsageError, match=None) as caught:
        load_rules(tmp_path)
    assert message in str(caught.value) and str(tmp_path) in str(caught.value)


# ------------------------------------------------------------------- text, commands


HOSTILE = ('<script>alert(1)</script> | cell `code` [link](javascript:alert(1)) '
           '<img src=x onerror=alert(1)> **bold** # h $x$ ~~s~~ &amp;')


def test_markdown_escaping_leaves_nothing_active() -> None:
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(f"| a |\n|---|\n| {md(HOSTILE)} |\n")
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "<strong>" not in html and "<code>" not in html and html.count("<td>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_fence_cannot_be_closed_by_its_content() -> None:
    text = "before\n```\n<script>x</script>\n````\nafter"
    html = MarkdownIt("commonmark", {"html": True}).render(str(md_fence(text, "diff")) + "\n\n<b>outside</b>\n")
    assert html.count("<pre>") == 1 and "&lt;script&gt;" in html and "<b>outside</b>" in html


def test_commands_are_shell_quoted_and_carry_db_only_when_not_the_default(
        tmp_path: Path) -> None:
    decision = Decision("PROMOTE", "promote.online_win", "it's $(rm -rf /) `x` better",
                        Subject(CAND, CAND[:12], f"support:{CAND[:12]}"))
    plain = commands_for(decision, "support", "2026-11-09", tmp_path / "flywheel.duckdb",
                         tmp_path)
    words = shlex.split(plain["command"])
    assert words[:5] == ["flywheel", "prompts", "promote", "support", f"support:{CAND[:12]}"]
    assert words[5] == "--reason" and "$(rm -rf /)" in words[6]
    assert shlex.split(plain["undo"])[:4] == ["flywheel", "prompts", "rollback", "support"]
    other = commands_for(decision, "support", "2026-11-09", tmp_path / "elsewhere.duckdb",
                         tmp_path)
    assert shlex.split(other["command"])[1:3] == ["--db", str(tmp_path / "elsewhere.duckdb")]
    hold = commands_for(replace(decision, decision="HOLD"), "support", "d", tmp_path, tmp_path)
    assert hold["command"] is None and hold["undo"] is None


def test_file_names_are_safe_and_unique() -> None:
    taken: set[str] = set()
    assert file_stem("support", taken) == "support"
    assert file_stem("../../etc/passwd", taken) == "_.._etc_passwd"
    assert file_stem('x"><svg onload=1>', taken) == "x___svg_onload_1_"
    assert file_stem("Support", taken) == "Support-2"
    assert file_stem("index", taken) == "prompt-index"


def test_charts_are_byte_identical_for_the_same_numbers_and_escape_text() -> None:
    rows = [charts.ForestRow("<script>alert(1)</script> $x$", "a", 0.1, 0.0, 0.2, "sig"),
            charts.ForestRow("b", "b", None, None, None, "collecting")]
    first = charts.forest_plot(rows, "t", salt="s")
    assert first == charts.forest_plot(copy.deepcopy(rows), "t", salt="s")
    assert first.startswith("<svg") and "<metadata" not in first and "<script" not in first
    assert "&lt;script&gt;" in first and "Matplotlib" not in first


def test_a_long_name_gets_a_short_unique_file_name() -> None:
    taken: set[str] = set()
    first, second = file_stem("p" * 300 + "a", taken), file_stem("p" * 300 + "b", taken)
    assert len(first) == len(second) == 80 and first != second


def test_with_several_candidates_the_best_decides_and_the_others_are_named() -> None:
    ev = evidence(experiment())
    rejected = {**ev["candidates"][0], "hash": "c" * 64, "short": "c" * 12,
                "ref": f"support:{'c' * 12}", "arms": [], "evals": [offline(-0.3, (-0.5, -0.1))]}
    ev["candidates"].append(rejected)
    result = decide(ev, RULES)
    assert (result["decision"], result["subject"]["hash"]) == ("PROMOTE", CAND)
    assert result["others"] == [{"ref": rejected["ref"], "decision": "REJECT",
                                 "rule": "reject.offline_regression"}]
    ev["candidates"] = ev["candidates"][1:]  # only the rejected one left
    assert decide(ev, RULES)["decision"] == "REJECT"


def test_every_threshold_has_its_default_documented_once_in_decisions_md() -> None:
    """docs/decisions.md's example decisions.yaml is the table of defaults: every section and
    key of the rules with the value the code uses (report and rollout thresholds alike)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "decisions.md").read_text()
    block = text.split("## The thresholds", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    documented = yaml.safe_load(block)
    documented.pop("prompts")
    defaults = DecisionRules().to_dict()
    defaults.pop("source")
    assert documented == defaults


def test_the_rollout_thresholds_come_from_the_rules_file(tmp_path: Path) -> None:
    (tmp_path / "decisions.yaml").write_text(
        "rollout:\n  min_users_per_stage: 50\n  guardrails:\n"
        "    - {metric: error_rate, max_relative_change: 0.2}\n"
        "prompts:\n  support: {rollout: {min_users_per_stage: 500}}\n")
    rules = load_rules(tmp_path)
    assert rules.rollout.min_users_per_stage == 50
    assert [(g.metric, g.worse_if) for g in rules.rollout.guardrails] == [("error_rate",
                                                                           "increase")]
    assert rules.for_prompt("support").rollout.min_users_per_stage == 500
    assert DecisionRules().rollout.min_users_per_stage == 200
    (tmp_path / "decisions.yaml").write_text("rollout: {min_users_per_stage: 0}\n")
    with pytest.raises(UsageError, match=r"rollout\.min_users_per_stage: must be >= 1"):
        load_rules(tmp_path)


def test_every_rules_field_can_be_set_from_the_file_and_nothing_else() -> None:
    from dataclasses import fields

    from flywheel.tasks.reports._rules import PARSERS, SECTIONS
    assert tuple(PARSERS) == SECTIONS
    for section in SECTIONS:
        assert set(PARSERS[section]) == {f.name for f in fields(getattr(RULES, section))}
