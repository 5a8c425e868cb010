"""Proposals from feedback (tasks/optimize): the leakage guard on few-shot examples with planted
leaks, idempotence per night, the rewrite through the evals' client to the demo model."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from flywheel.tasks.commands import sync_prompt_files
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.db import connect, fetch_dicts
from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.export import LeakageGuard, read_eval_cases, vars_text
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.optimize import propose
from flywheel.tasks.redact import Redactor
from flywheel.tasks.registry import history, prompt_hash, resolve, show
from flywheel.tasks.sample_data import SampleSpec, write_sample_data

NIGHT = date(2026, 11, 1)
EVAL_QUESTION = "How do I get a refund for my last invoice?"  # support.jsonl#refund-deadline
PLANTED = {
    "exact": EVAL_QUESTION,
    "case-and-space": "  how do I get a REFUND for my   last invoice? ",
    "one-typo": "How do I get a refund for my last invoce?",
    "inside-more-text": "Hi! How do I get a refund for my last invoice? Thanks",
}
CLEAN = [
    "Can I pay in euros instead of dollars?",
    "Which ports are open by default on a new server?",
    "Do you have a discount for students or non-profits? Mail me at jane.doe@example.com",
]


def _request(i: int, question: str, production_hash: str) -> dict:
    return {"request_id": f"req_{i}", "timestamp": f"2026-11-01T0{i % 9}:00:00Z",
            "user_id": f"user-{i}", "prompt_name": "support", "prompt_hash": production_hash,
            "model": "gpt-4o-mini", "input": {"question": question}, "output": "Wrong answer."}


def _feedback(i: int, corrected: str) -> list[dict]:
    base = {"request_id": f"req_{i}", "user_id": f"user-{i}",
            "timestamp": f"2026-11-01T0{i % 9}:30:00Z"}
    return [{**base, "feedback_id": f"fb_{i}_t", "kind": "thumbs", "value": 0},
            {**base, "feedback_id": f"fb_{i}_c", "kind": "correction",
             "corrected_output": corrected}]


@pytest.fixture()
def project(tmp_path: Path) -> Settings:
    """The sample project (prompts, eval sets), with hand-written logs holding planted leaks."""
    write_sample_data(tmp_path, SampleSpec(days=1, users=1))
    shutil.rmtree(tmp_path / "landing")
    settings = load_settings(db=tmp_path / "flywheel.duckdb", project_dir=tmp_path)
    sync_prompt_files(settings, str(tmp_path / "prompts"), None, None)
    with connect(settings.db_path) as con:
        production = resolve(con, "support@production").hash
    questions = [*PLANTED.values(), *CLEAN]
    requests = [_request(i, q, production) for i, q in enumerate(questions)]
    feedback = [f for i, q in enumerate(questions) for f in _feedback(i, f"Corrected answer {i}.")]
    landing = tmp_path / "landing" / "2026-11-01"
    landing.mkdir(parents=True)
    (landing / "requests-1.jsonl").write_text("\n".join(map(json.dumps, requests)) + "\n")
    (landing / "feedback-1.jsonl").write_text("\n".join(map(json.dumps, feedback)) + "\n")
    ingest_paths(settings, [tmp_path / "landing"])
    return replace(settings, optimize_fewshot_k=10)


def _few_shot_users(settings: Settings, digest: str) -> list[str]:
    with connect(settings.db_path) as con:
        content = show(con, digest)["content"]
    return [m["content"] for m in content["few_shot"] if m["role"] == "user"]


def test_planted_leaks_never_become_few_shot_examples(project: Settings) -> None:
    proposal = propose(project, "support", "fewshot", NIGHT)
    assert proposal.status == "proposed"
    users = _few_shot_users(project, proposal.hash)
    assert len(users) == len(CLEAN)  # every clean pair kept, every planted one out
    guard = LeakageGuard(read_eval_cases(project.dir("evalsets")), Redactor(), 90.0)
    assert all(guard.check([u]) is None for u in users)
    assert not any("refund" in u.lower() for u in users)
    assert "support.jsonl#refund-deadline" in proposal.excluded_cases
    assert "jane.doe@example.com" not in json.dumps(users)  # redacted
    with connect(project.db_path) as con:
        provenance = show(con, proposal.hash)["provenance"]
    assert len(provenance["details"]["excluded_leaks"]) == len(PLANTED)
    assert {e["input"].strip() for e in provenance["details"]["excluded_leaks"]} == {
        vars_text({"question": q}).strip() for q in PLANTED.values()}
    assert provenance["parent"] == proposal.parent_hash
    assert provenance["excluded_eval_cases"] == list(proposal.excluded_cases)
    assert sorted(provenance["feedback_ids"]) == sorted(
        f"fb_{i}_c" for i in range(len(PLANTED), len(PLANTED) + len(CLEAN)))


def test_the_candidate_is_an_ordinary_version_with_its_own_file(project: Settings) -> None:
    proposal = propose(project, "support", "fewshot", NIGHT)
    path = project.project_dir / str(proposal.file)
    assert path.is_file() and path.parent == project.dir("prompts") / "support"
    # a person can sync the same file: same content, same hash
    summary = sync_prompt_files(project, str(project.dir("prompts")), None, None)
    assert proposal.hash in {e["hash"] for e in summary["unchanged"]}
    import yaml

    assert prompt_hash(yaml.safe_load(path.read_text())) == proposal.hash


def test_rerunning_a_night_proposes_nothing_new(project: Settings) -> None:
    first = propose(project, "support", "fewshot", NIGHT, label_candidate=True)
    files = sorted(project.dir("prompts").rglob("generated-*.yaml"))
    with connect(project.db_path) as con:
        moves = len(history(con, "support"))
    again = propose(project, "support", "fewshot", NIGHT, label_candidate=True)
    assert (first.status, again.status) == ("proposed", "unchanged")
    assert again.hash == first.hash and first.candidate_label_moved and not again.candidate_label_moved
    assert sorted(project.dir("prompts").rglob("generated-*.yaml")) == files
    with connect(project.db_path) as con:
        assert len(history(con, "support")) == moves
        assert con.execute("SELECT count(*) FROM prompt_provenance").fetchone()[0] == 1


def test_a_night_without_enough_corrections_is_skipped(project: Settings) -> None:
    proposal = propose(project, "support", "fewshot", date(2026, 10, 31))  # before any feedback
    assert proposal.status == "skipped" and proposal.hash is None


def test_the_rewrite_calls_the_optimizer_once_and_then_the_cache(project: Settings) -> None:
    with DemoModelServer() as server:
        settings = replace(project, openai_base_url=server.base_url)
        first = propose(settings, "support", "rewrite", NIGHT)
        calls = server.calls
        again = propose(settings, "support", "rewrite", NIGHT)
        assert server.calls == calls == 1  # the rerun is answered by the eval cache
    assert first.status == "proposed" and again.hash == first.hash
    assert first.cost_usd is not None and first.cost_usd > 0 and again.cost_usd == 0.0
    with connect(project.db_path) as con:
        content = show(con, first.hash)["content"]
    assert "- Q: Can I pay in euros instead of dollars? A: Corrected answer" in content["system"]
    assert first.optimizer_model == project.optimize_model


def test_the_rewrite_stays_within_its_budget(project: Settings) -> None:
    with DemoModelServer() as server:
        settings = replace(project, openai_base_url=server.base_url, optimize_budget_usd=1e-9)
        proposal = propose(settings, "support", "rewrite", NIGHT)
        assert server.calls == 0
    assert proposal.status == "skipped" and any("budget" in n for n in proposal.notes)


def _evaluated_candidate(project: Settings, server: DemoModelServer) -> Settings:
    from flywheel.tasks.evals import call_options, in_process_executor, run_eval
    from flywheel.tasks.sample_data import SUPPORT_QA

    settings = replace(project, openai_base_url=server.base_url)
    with connect(settings.db_path) as con:
        production = resolve(con, "support@production").hash
    requests = [_request(100 + i, q, production) for i, (q, _, _) in enumerate(SUPPORT_QA)]
    feedback = [f for i, (_, _, right) in enumerate(SUPPORT_QA) for f in _feedback(100 + i, right)]
    landing = settings.landing / "2026-11-01-policies"
    landing.mkdir(parents=True)
    (landing / "requests-2.jsonl").write_text("\n".join(map(json.dumps, requests)) + "\n")
    (landing / "feedback-2.jsonl").write_text("\n".join(map(json.dumps, feedback)) + "\n")
    ingest_paths(settings, [settings.landing])
    settings = replace(settings, optimize_rewrite_cases=len(SUPPORT_QA) + 10)
    proposal = propose(settings, "support", "rewrite", NIGHT, label_candidate=True)
    assert proposal.candidate_label_moved
    run_eval(settings, settings.dir("evalsets") / "support.jsonl",
             ["support@production", "support@candidate"],
             execute=in_process_executor(call_options(settings)), trigger="nightly")
    return settings


def test_an_offline_win_starts_a_ramp_never_a_full_promotion(project: Settings) -> None:
    from flywheel.tasks.config import AutoPolicy
    from flywheel.tasks.optimize import AUTO_ACTOR, auto_night
    from flywheel.tasks.serving.rollout import rollouts

    with DemoModelServer() as server:
        settings = replace(_evaluated_candidate(project, server),
                           auto={"support": AutoPolicy(stages=(0.1, 0.5, 1.0))})
        first = auto_night(settings, NIGHT)
        again = auto_night(settings, NIGHT)
    assert [a["action"] for a in first["actions"]] == ["ramp"], first
    assert again["actions"][0]["action"] == "none"  # a rerun of the night starts nothing
    with connect(settings.db_path) as con:
        moves = history(con, "support", label="production")
        ramps = rollouts(con)
        candidate = resolve(con, "support@candidate").hash
        start_nights = [e["run_date"] for e in fetch_dicts(
            con, "optimize/ramp_events", {"subject": "support@production"})]
    assert start_nights == [NIGHT]  # the ramp's start names the night that decided it
    promote_move = next(m.to_dict() for m in moves if m.moved_by.startswith(AUTO_ACTOR))
    assert promote_move["moved_by"] == f"{AUTO_ACTOR}:offline-win"
    assert "McNemar p = " in promote_move["reason"] and "no tag regressed" in promote_move["reason"]
    assert len(ramps) == 1 and ramps[0].to_hash == candidate and ramps[0].fraction == 0.1


def test_without_a_win_or_with_promote_off_nothing_moves(project: Settings) -> None:
    from flywheel.tasks.config import AutoPolicy
    from flywheel.tasks.optimize import auto_night, offline_verdict

    with DemoModelServer() as server:
        settings = _evaluated_candidate(project, server)
    off = auto_night(replace(settings, auto={"support": AutoPolicy(promote=False)}), NIGHT)
    assert off["actions"][0]["action"] == "none" and "commands" in off["actions"][0]["reason"]
    strict = auto_night(replace(settings, auto={"support": AutoPolicy(alpha=1e-9)}), NIGHT)
    assert strict["actions"][0]["action"] == "none"
    assert strict["actions"][0]["reason"].startswith("no offline win")
    summary = {"comparisons": [{"candidate_hash": "c", "baseline_pass_rate": 0.5,
                                "candidate_pass_rate": 0.9, "paired_cases": 10,
                                "mcnemar": {"improvements": 5, "regressions": 1, "p_value": 0.01},
                                "by_tag": [{"tag": "billing", "pass_rate_diff": -0.1}]}]}
    won, text = offline_verdict(summary, "c", 0.05)
    assert not won and "billing" in text  # a regressing tag vetoes the win


def test_all_without_its_rewrite_proposes_nothing(project: Settings) -> None:
    proposal = propose(project, "support", "all", NIGHT)  # no endpoint configured
    assert proposal.status == "skipped" and proposal.reason.startswith("the rewrite did not run")
    assert not list(project.dir("prompts").rglob("generated-*.yaml"))
