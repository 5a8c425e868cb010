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
from flywheel.tasks.db import connect
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
    assert provenance["parent_hash"] == proposal.parent_hash
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
