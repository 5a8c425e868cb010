"""Gradual rollout: multi-night simulations over generated traffic served by the real client
(advance through every stage; roll back on the night a planted regression starts), the decision
rules, ramp files and flags, idempotent nights, ramps cancelled by outside moves."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.ab import Guardrail, RolloutPlan, load_experiment
from flywheel.tasks.db import connect
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry._labels import current_label, history, promote
from flywheel.tasks.serving._client import Router
from flywheel.tasks.serving._snapshot import write_snapshot
from flywheel.tasks.serving.rollout import (
    Decision,
    Evidence,
    Rollout,
    advance_rollouts,
    apply_decision,
    decide,
    latest_rollout,
    night_decisions,
    parse_stages,
    promote_with_ramp,
    restart_experiment_rollout,
    rollout_history,
    rollout_states,
)
from tests.support.serving_support import (
    FIRST_DAY,
    SUMMARIZER_V1,
    SUMMARIZER_V2,
    SUMMARIZER_V3,
    SUPPORT_V1,
    SUPPORT_V2,
    Outcome,
    Simulation,
    midnight,
    project,
)

pytestmark = pytest.mark.unit

STAGES = [0.1, 0.3, 0.6, 1.0]
TONE_RAMP = """name: tone-ramp
variants: {control: support@production, friendly: "support:4f0cb83d1c08"}
start: 2026-11-01
primary_metric: thumbs_up_rate
guardrails:
  - {metric: error_rate, worse_if: increase, max_relative_change: 0.05}
  - {metric: latency_ms, worse_if: increase, max_relative_change: 0.10}
rollout: {stages: [0.1, 0.3, 0.6, 1.0], min_users_per_stage: 80}
"""


def ramp_summary(sim: Simulation) -> dict[str, tuple[str, int]]:
    with connect(sim.settings.db_path) as con:
        return {r["subject"]: (r["status"], r["stage"]) for r in rollout_states(con)}


def actions(night: dict[str, Any]) -> dict[str, str]:
    return {d["subject"]: d["action"] for d in night["rollout"]["decisions"]}


@pytest.fixture(scope="module")
def healthy_then_breach(tmp_path_factory: pytest.TempPathFactory) -> Simulation:
    """Three nights: a promotion ramp of summarizer v2 and an experiment ramp of tone-ramp, both
    healthy for two days; on day 3 the experiment's friendly variant starts failing."""
    settings = project(tmp_path_factory.mktemp("ramps"), {"tone-ramp": TONE_RAMP})
    with connect(settings.db_path) as con:
        promote_with_ramp(con, "summarizer", SUMMARIZER_V2[:12], STAGES, min_users_per_stage=80,
                          by="ann", now=midnight(FIRST_DAY))
    sim = Simulation(settings, users=1600, subjects=("tone-ramp", "summarizer"))
    for day in range(3):
        if day == 2:
            sim.outcomes[SUPPORT_V2] = Outcome(error_rate=0.4)  # the planted regression
        sim.run_day()
        sim.night()
    sim.close()
    return sim


def test_a_healthy_promotion_ramp_advances_through_every_stage(
    healthy_then_breach: Simulation,
) -> None:
    sim = healthy_then_breach
    steps = [actions(n)["summarizer@production"] for n in sim.nights]
    assert steps == ["advance", "advance", "complete"]
    assert ramp_summary(sim)["summarizer@production"] == ("complete", 4)
    # each day's snapshot served the stage's share of users the new version
    for day, fraction in enumerate(STAGES[:3]):
        promoted = {u for (s, u), c in sim.served[day].items()
                    if s == "summarizer" and c.hash == SUMMARIZER_V2}
        share = len(promoted) / sim.users
        assert abs(share - fraction) < 0.05, (day, share)
    # monotone: whoever was on the new version stays on it as the ramp grows
    on_new = [{u for (s, u), c in served.items() if s == "summarizer" and c.hash == SUMMARIZER_V2}
              for served in sim.served]
    assert on_new[0] <= on_new[1] <= on_new[2]
    # complete: the label's version for everybody, no ramp left in the snapshot
    doc = sim.router.document
    assert doc["prompts"]["summarizer"]["rollouts"] == {}
    assert {sim.router.choose("summarizer", f"user-{i:05d}").hash for i in range(300)} == {
        SUMMARIZER_V2}
    # the ramp's stages were logged under their own experiment tags and ingested cleanly
    assert all(n["ingest"].rejected == 0 for n in sim.nights)
    tags = {c.experiment for served in sim.served for (s, _), c in served.items()
            if s == "summarizer"}
    assert tags == {f"summarizer@production#ramp-1-stage-{k}" for k in (1, 2, 3)}


def test_an_experiment_ramp_rolls_back_on_the_night_the_regression_starts(
    healthy_then_breach: Simulation,
) -> None:
    sim = healthy_then_breach
    assert [actions(n)["tone-ramp"] for n in sim.nights] == ["advance", "advance", "rollback"]
    assert ramp_summary(sim)["tone-ramp"] == ("rolled_back", 0)
    rollback = next(d for d in sim.nights[2]["rollout"]["decisions"] if d["subject"] == "tone-ramp")
    assert rollback["from_fraction"] == 0.6 and rollback["to_fraction"] == 0.0
    failing = [g for g in rollback["evidence"]["guardrails"] if g["status"] == "fail"]
    assert [g["metric"] for g in failing] == ["error_rate"]
    assert failing[0]["ci_low"] > 0.05  # the whole interval beyond the allowed +5%
    assert "error_rate" in rollback["reason"]
    # published: nobody is enrolled any more, everybody gets the control, untagged
    exp = sim.router.document["experiments"]["tone-ramp"]
    assert exp["rollout"]["fraction"] == 0.0 and exp["rollout"]["status"] == "rolled_back"
    choices = [sim.router.choose("tone-ramp", f"user-{i:05d}") for i in range(300)]
    assert {(c.hash, c.experiment) for c in choices} == {(SUPPORT_V1, None)}
    # enrolled users kept their arm while the ramp grew (10% -> 30% -> 60%)
    arms = [{u: c.variant for (s, u), c in served.items() if s == "tone-ramp" and c.experiment}
            for served in sim.served]
    for earlier, later in itertools.pairwise(arms):
        assert all(later[u] == arm for u, arm in earlier.items())
    assert [round(len(a) / sim.users, 1) for a in arms] == [0.1, 0.3, 0.6]


def test_every_decision_is_recorded_with_its_evidence(healthy_then_breach: Simulation) -> None:
    sim = healthy_then_breach
    with connect(sim.settings.db_path) as con:
        night1 = night_decisions(con, FIRST_DAY)
        events = rollout_history(con, "tone-ramp")
        labels = history(con, "summarizer", label="production")
    assert {d["subject"]: d["action"] for d in night1} == {
        "tone-ramp": "advance", "summarizer@production": "advance"}
    for d in night1:
        ev = d["evidence"]
        assert ev["trustworthy"] and min(ev["arm_users"].values()) >= 80
        assert all(g["estimate"] is not None and g["ci_low"] < g["ci_high"]
                   for g in ev["guardrails"])
    assert [e["action"] for e in reversed(events)] == ["start", "advance", "advance", "rollback"]
    # the promotion itself is in the label history, with the ramp in its reason
    assert labels[0].action == "promote" and "ramp 10% → 30% → 60% → 100%" in (labels[0].reason or "")


def test_a_promotion_ramp_that_breaks_a_guardrail_restores_the_label(tmp_path: Path) -> None:
    settings = project(tmp_path)
    with connect(settings.db_path) as con:
        _, ramp = promote_with_ramp(con, "summarizer", SUMMARIZER_V3[:12], STAGES,
                                    min_users_per_stage=80, by="ann", now=midnight(FIRST_DAY))
        assert current_label(con, "summarizer", "production") == SUMMARIZER_V3
    sim = Simulation(settings, users=1500, subjects=("summarizer",))
    sim.outcomes[SUMMARIZER_V3] = Outcome(error_rate=0.3, latency_ms=1400)  # bad from day 1
    sim.run_day()
    night = sim.night()
    sim.close()
    assert actions(night) == {"summarizer@production": "rollback"}
    decision = night["rollout"]["decisions"][0]
    with connect(settings.db_path) as con:
        assert current_label(con, "summarizer", "production") == SUMMARIZER_V1
        top = history(con, "summarizer", label="production")[0]
    assert top.action == "rollback" and top.undoes_move_id == ramp.label_move_id
    assert decision["label_move_id"] == top.move_id and "guardrail failed" in (top.reason or "")
    assert {g["metric"] for g in decision["evidence"]["guardrails"] if g["status"] == "fail"} >= {
        "error_rate", "latency_p95_ms"}
    assert sim.router.document["prompts"]["summarizer"]["rollouts"] == {}
    assert {sim.router.choose("summarizer", f"user-{i}").hash for i in range(200)} == {
        SUMMARIZER_V1}


def test_short_data_holds_and_a_night_decides_only_once(tmp_path: Path) -> None:
    settings = project(tmp_path, {"tone-ramp": TONE_RAMP})
    sim = Simulation(settings, users=300, subjects=("tone-ramp",))  # 10% of 300: too few
    sim.run_day()
    night = sim.night()
    sim.close()
    decision = night["rollout"]["decisions"][0]
    assert decision["action"] == "hold" and "data short" in decision["reason"]
    assert ramp_summary(sim)["tone-ramp"] == ("ramping", 1)
    again = advance_rollouts(settings, FIRST_DAY)
    assert again["decisions"] == [] and "already decided" in again["skipped"][0]["reason"]


def test_a_label_moved_outside_the_ramp_cancels_it(tmp_path: Path) -> None:
    settings = project(tmp_path)
    with connect(settings.db_path) as con:
        promote_with_ramp(con, "summarizer", SUMMARIZER_V2[:12], STAGES, min_users_per_stage=10,
                          by="ann", now=midnight(FIRST_DAY))
        promote(con, "summarizer", SUMMARIZER_V3[:12], by="bob")
    result = advance_rollouts(settings, FIRST_DAY + timedelta(days=1))
    assert [d["action"] for d in result["decisions"]] == ["cancel"]
    assert "moved outside the ramp" in result["decisions"][0]["reason"]


def test_promote_with_ramp_refuses_what_it_cannot_ramp(tmp_path: Path, db_path: Path) -> None:
    settings = project(tmp_path)
    with connect(settings.db_path) as con:
        with pytest.raises(UsageError, match="already points"):
            promote_with_ramp(con, "summarizer", SUMMARIZER_V1[:12], STAGES,
                              min_users_per_stage=10)
        with pytest.raises(UsageError, match="does not exist yet"):
            promote_with_ramp(con, "summarizer", SUMMARIZER_V2[:12], STAGES, label="beta",
                              min_users_per_stage=10)
        with pytest.raises(UsageError, match="must end at 1"):
            promote_with_ramp(con, "summarizer", SUMMARIZER_V2[:12], [0.1, 0.5],
                              min_users_per_stage=10)
        with pytest.raises(UsageError, match="unknown metric"):
            promote_with_ramp(con, "summarizer", SUMMARIZER_V2[:12], STAGES,
                              min_users_per_stage=10,
                              guardrails=[Guardrail("happiness", "decrease", 0.1)])
        assert current_label(con, "summarizer", "production") == SUMMARIZER_V1  # nothing moved


def test_stage_parsing() -> None:
    assert parse_stages("0.05,0.2,0.5,1") == (0.05, 0.2, 0.5, 1.0)
    assert parse_stages("5%, 20%, 100%") == (0.05, 0.2, 1.0)
    for bad, message in (("0.5,0.2,1", "increase"), ("0,1", r"\(0, 1\]"), ("x,1", "fraction"),
                         ("", "non-empty"), ("0.2,1.5", r"\(0, 1\]")):
        with pytest.raises(UsageError, match=message):
            parse_stages(bad)


def test_experiment_files_declare_ramps_and_bad_ones_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "tone-ramp.yaml"
    path.write_text(TONE_RAMP, "utf-8")
    assert load_experiment(path).rollout == RolloutPlan((0.1, 0.3, 0.6, 1.0), 80)
    for replacement, key in (("stages: [0.1, 0.3, 0.6, 1.0]", "rollout.stages"),
                             ("min_users_per_stage: 80", "rollout.min_users_per_stage"),
                             ("rollout: {", "rollout")):
        bad = {"rollout.stages": TONE_RAMP.replace(replacement, "stages: [0.3, 0.1]"),
               "rollout.min_users_per_stage": TONE_RAMP.replace(replacement,
                                                                "min_users_per_stage: 0"),
               "rollout": TONE_RAMP.replace(replacement, "rollout: {speed: 2, ")}[key]
        path.write_text(bad, "utf-8")
        with pytest.raises(UsageError, match=rf"tone-ramp.yaml:\d+: {key}"):
            load_experiment(path)


# ------------------------------------------------------------------ the decision rules


def _ramp(stage: int = 2, min_users: int = 100) -> Rollout:
    now = midnight(FIRST_DAY)
    return Rollout(1, "experiment", "x", None, None, None, None, (0.1, 0.3, 0.6, 1.0), min_users, (),
                   stage, "ramping", now, None, None, now, "t", now)


def _guard(status: str, estimate: float | None = 0.01) -> dict[str, Any]:
    return {"metric": "error_rate", "variant": "b", "worse_if": "increase",
            "max_relative_change": 0.05, "estimate": estimate, "ci_low": -0.1, "ci_high": 0.2,
            "status": status}


def _evidence(**overrides: Any) -> Evidence:
    base: dict[str, Any] = {"source": "s", "has_results": True, "trustworthy": True,
                            "failed_checks": [], "guardrails": [_guard("inconclusive")],
                            "arm_users": {"a": 150, "b": 150}, "window": ("", "")}
    return Evidence(**(base | overrides))


@pytest.mark.parametrize(("evidence", "action", "stage", "words"), [
    (_evidence(), "advance", 3, "no guardrail failed"),
    (_evidence(guardrails=[_guard("fail")], arm_users={"a": 3, "b": 2}), "rollback", 0,
     "guardrail failed"),
    (_evidence(guardrails=[_guard("fail")], trustworthy=False), "rollback", 0, "error_rate"),
    (_evidence(has_results=False), "hold", 2, "no A/B results"),
    (_evidence(trustworthy=False, failed_checks=["srm"]), "hold", 2, "srm"),
    (_evidence(arm_users={"a": 150, "b": 99}), "hold", 2, "data short"),
    (_evidence(guardrails=[_guard("inconclusive", None)]), "hold", 2, "no estimate"),
    (_evidence(guardrails=[]), "advance", 3, "no guardrails declared"),
])
def test_decide(evidence: Evidence, action: str, stage: int, words: str) -> None:
    decision = decide(_ramp(), evidence)
    assert (decision.action, decision.to_stage) == (action, stage)
    assert words in decision.reason


def test_decide_completes_at_the_last_stage() -> None:
    decision = decide(_ramp(stage=3), _evidence())
    assert decision == Decision("complete", 4, decision.reason)


def test_night_artifact_data_is_json_ready(healthy_then_breach: Simulation) -> None:
    for night in healthy_then_breach.nights:
        json.dumps(night["rollout"])
    assert date.fromisoformat(healthy_then_breach.nights[0]["rollout"]["run_date"]) == FIRST_DAY


def test_a_rolled_back_experiment_ramp_restarts_only_when_asked(tmp_path: Path) -> None:
    settings = project(tmp_path, {"tone-ramp": TONE_RAMP})
    write_snapshot(settings, reason="start", now=midnight(FIRST_DAY))
    with connect(settings.db_path) as con:
        ramp = latest_rollout(con, "experiment", "tone-ramp")
        assert ramp is not None and (ramp.status, ramp.stage) == ("ramping", 1)
        with pytest.raises(UsageError, match="no rolled-back"):
            restart_experiment_rollout(con, "tone-ramp")
        apply_decision(con, ramp, Decision("rollback", 0, "planted"), _evidence(),
                       run_date=FIRST_DAY, as_of=midnight(FIRST_DAY + timedelta(days=1)),
                       by="test", now=midnight(FIRST_DAY + timedelta(days=1)))
    write_snapshot(settings, reason="after rollback")
    assert Router.load(settings.serving_file).document["experiments"]["tone-ramp"]["rollout"][
        "fraction"] == 0.0  # stays at 0: a rollback does not restart by itself
    with connect(settings.db_path) as con:
        event = restart_experiment_rollout(con, "tone-ramp", by="ann")
    assert event["action"] == "cancel" and event["reason"] == "restart requested"
    write_snapshot(settings, reason="restarted")
    rollout = Router.load(settings.serving_file).document["experiments"]["tone-ramp"]["rollout"]
    assert (rollout["rollout_id"], rollout["stage"], rollout["fraction"]) == (ramp.rollout_id + 1,
                                                                              1, 0.1)
