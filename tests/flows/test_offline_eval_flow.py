"""The offline-eval flow under the Prefect harness against the demo model over real HTTP."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.client.orchestration import get_client

from flywheel.flows.offline_eval import offline_eval_nightly, run_offline_eval
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect, fetch_dicts
from flywheel.tasks.demo_model import DemoModelServer, FaultPlan
from flywheel.tasks.errors import FlywheelError
from flywheel.tasks.registry import register_version
from tests.support.eval_support import API_KEY, REPO, make_project, support_cases

SET_LABEL = (Path(__file__).parent / "sql" / "set_label.sql").read_text()
# Fields of a summary that describe the run rather than its outcome.
RUN_FIELDS = {"run_id", "seconds", "calls", "trigger"}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoModelServer]:
    with DemoModelServer() as demo:
        monkeypatch.setenv("OPENAI_BASE_URL", demo.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        yield demo


def evaluate(project: Path, evalset: Path, refs: list[str], **parameters: Any) -> dict[str, Any]:
    settings = load_settings(db=project / "flywheel.duckdb", project_dir=project)
    return run_offline_eval(settings, evalset=str(evalset), prompts=refs, **parameters)


def rows(project: Path, name: str, run_id: str) -> list[dict[str, Any]]:
    with connect(project / "flywheel.duckdb") as con:
        return fetch_dicts(con, name, {"run_id": run_id})


def register_with_policies(project: Path, cases: list[dict[str, Any]]) -> str:
    """v2-friendly with each case's question and reference stated as a policy line (the demo
    model follows a stated policy); returns the new version's hash."""
    spec = yaml.safe_load((REPO / "prompts" / "support" / "v2-friendly.yaml").read_text())
    lines = [f"- Q: {c['vars']['question']} A: {c['reference']}" for c in cases]
    spec["system"] = "\n".join([spec["system"], "", "Policies:", *lines])
    with connect(project / "flywheel.duckdb") as con:
        version, _ = register_version(con, spec)
    return version.hash


def outcome(summary: dict[str, Any]) -> dict[str, Any]:
    """What a run found, without what describes the run itself (ids, timings, call counts)."""
    kept = {k: v for k, v in summary.items() if k not in RUN_FIELDS}
    kept["versions"] = [{k: v for k, v in version.items() if "latency" not in k}
                        for version in summary["versions"]]
    return kept


def test_faults_on_a_fifth_of_calls_lose_no_case_and_score_none_as_zero(
    tmp_path: Path, server: DemoModelServer
) -> None:
    project, evalset, h = make_project(tmp_path / "p", support_cases(200))
    refs = [f"support:{h['support/v1']}", f"support:{h['support/v2-friendly']}"]
    server.configure(FaultPlan(rate=0.2, seed=11, kinds=("429", "500", "timeout"),
                               hang_s=0.8, retry_after_s=0.01))
    faulty = evaluate(project, evalset, refs)
    faults = server.stats()["faults"]
    assert sum(faults.values()) >= 60 and set(faults) == {"429", "500", "timeout"}
    assert faulty["errors"] == {"api": 0, "scorer": 0}
    assert faulty["calls"]["http_attempts"] == server.calls > 400
    results = rows(project, "evals/case_outcomes", faulty["run_id"])
    assert len(results) == 400
    assert all(r["scored"] == 1 and r["errored"] == 0 for r in results)
    # The same eval without faults and without the cache scores every case the same.
    server.configure(FaultPlan())
    clean = evaluate(project, evalset, refs, no_cache=True)
    assert outcome(clean) == outcome(faulty)
    assert clean["versions"][1]["pass_rate"] > clean["versions"][0]["pass_rate"]


def test_a_rerun_makes_zero_http_calls_and_no_cache_calls_again(
    tmp_path: Path, server: DemoModelServer
) -> None:
    project, _, h = make_project(tmp_path / "p", [])
    evalset = REPO / "evalsets" / "support.jsonl"
    (project / "evalsets" / "checks.py").write_text(
        (REPO / "evalsets" / "checks.py").read_text())
    refs = [f"support:{h['support/v1']}", f"support:{h['support/v2-friendly']}"]
    first = evaluate(project, evalset, refs)
    calls = server.calls
    assert calls == first["calls"]["total"] > 52 and first["calls"]["judge"] > 0
    second = evaluate(project, evalset, refs)
    assert server.calls == calls
    assert second["calls"]["cached"] == second["calls"]["total"]
    assert second["calls"]["http_attempts"] == 0
    assert outcome(second) == outcome(first)
    third = evaluate(project, evalset, refs, no_cache=True)
    assert server.calls == 2 * calls and third["calls"]["cached"] == 0
    assert first["demo_model"] and "demo model" in first["note"]
    comparison = first["comparisons"][0]
    # The demo model's rules: v2's one worked example (a server's region) helps only the
    # database-region question close to it; its warm opener costs the yes/no answers that must
    # start with "Yes".
    assert comparison["mcnemar"]["improvements"] == 1 and comparison["mcnemar"]["regressions"] == 2
    assert [r["case_id"] for r in comparison["improvements"]] == ["database-region"]
    assert all("yes-no" in r["tags"] for r in comparison["regressions"])
    regression = comparison["regressions"][0]
    assert regression["baseline_output"] and regression["candidate_output"]
    assert {t["tag"] for t in comparison["by_tag"]} >= {"billing", "yes-no", "security"}
    assert first["cost_usd"] > 0
    with connect(project / "flywheel.duckdb") as con:
        run = fetch_dicts(con, "evals/run_get", {"run_id": first["run_id"]})[0]
    assert run["demo_model"] and run["calls_http"] == calls
    assert json.loads(run["summary"])["comparisons"] == json.loads(json.dumps(
        first["comparisons"]))


def test_api_errors_are_counted_apart_and_never_scored(
    tmp_path: Path, server: DemoModelServer
) -> None:
    project, evalset, h = make_project(tmp_path / "p", support_cases(30), toml="""
eval_backoff_base_s = 0.01
eval_max_attempts = 2
""")
    server.configure(FaultPlan(script=[{"status": 500, "when": "VAT number"}] * 8))
    summary = evaluate(project, evalset, [f"support:{h['support/v1']}",
                                          f"support:{h['support/v2-friendly']}"])
    errored = [r for r in rows(project, "evals/case_outcomes", summary["run_id"])
               if r["errored"]]
    assert {r["case_id"] for r in errored} == {"case-010", "case-023"}
    assert all(r["mean_score"] is None and r["passed_all"] is None for r in errored)
    assert summary["errors"]["api"] == 4
    assert [v["cases_scored"] for v in summary["versions"]] == [28, 28]
    assert summary["comparisons"][0]["paired_cases"] == 28


def test_a_permanent_401_fails_the_run_fast_and_the_key_is_nowhere(
    tmp_path: Path, server: DemoModelServer
) -> None:
    project, evalset, h = make_project(tmp_path / "p", support_cases(200))
    server.configure(FaultPlan(status=401, latency_ms=20))
    with pytest.raises(FlywheelError) as err:
        evaluate(project, evalset, [f"support:{h['support/v1']}"], concurrency=4)
    assert "HTTP 401" in str(err.value) and API_KEY not in str(err.value)
    assert server.calls <= 4
    server.configure(FaultPlan())
    evaluate(project, evalset, [f"support:{h['support/v1']}"])
    with connect(project / "flywheel.duckdb") as con:
        for table in ("evals/dump_runs", "evals/dump_results", "evals/dump_cache"):
            assert API_KEY not in json.dumps(fetch_dicts(con, table), default=str)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
        logs = client.read_logs()
    assert artifacts and API_KEY not in json.dumps([a.model_dump(mode="json") for a in artifacts])
    keys = {a.key for a in artifacts}
    assert {"offline-eval", "offline-eval-progress"} <= keys
    progress = [a for a in artifacts if a.key == "offline-eval-progress" and a.data == 100.0]
    assert progress  # the progress artifact reached 100%
    assert API_KEY not in json.dumps([log.message for log in logs])


def test_repeats_show_flaky_cases_and_the_judge_gets_one_retry(
    tmp_path: Path, server: DemoModelServer
) -> None:
    cases = support_cases(6)
    cases[1]["assert"] = [{"type": "llm-rubric", "value": "Mentions 'bank'", "threshold": 1}]
    project, evalset, _ = make_project(tmp_path / "p", cases)
    server.configure(FaultPlan(script=[
        {"when": "Customer question: Why was my card declined", "content": "Sorry, no idea."},
        {"when": "evaluation judge", "content": "It is fine!"},
    ]))
    friendly = f"support:{register_with_policies(project, cases)}"
    summary = evaluate(project, evalset, [friendly], repeats=3)
    version = summary["versions"][0]
    assert version["flaky_cases"] == [{"case_id": "case-004", "consistency": pytest.approx(2 / 3),
                                       "passes": 2, "scored": 3, "flaky": True,
                                       "pass_hat_k": 0.0}]
    assert version["flaky_count"] == 1
    # pass^k over the 6 cases: 4 pass every repeat, 1 none, and case-004 passes 2 of 3
    # (its pass^1 is 2/3, pass^2 C(2,2)/C(3,2) = 1/3, pass^3 0)
    assert version["pass_hat_k"] == {"1": pytest.approx((4 + 2 / 3) / 6, abs=1e-6),
                                     "2": pytest.approx((4 + 1 / 3) / 6, abs=1e-6),
                                     "3": pytest.approx(4 / 6, abs=1e-6)}
    assert version["cases_scored"] == 6 and summary["errors"]["scorer"] == 0
    assert summary["calls"]["judge"] >= 2  # the malformed verdict was asked again
    server.configure(FaultPlan(script=[{"when": "evaluation judge", "content": "nope"}] * 2))
    again = evaluate(project, evalset, [friendly], no_cache=True)
    assert again["errors"]["scorer"] == 1  # twice malformed: an error, not a failure
    assert again["versions"][0]["cases_scored"] == 5


def test_nightly_step_evaluates_candidate_against_production(
    tmp_path: Path, server: DemoModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _, h = make_project(tmp_path / "p", support_cases(12))
    with connect(project / "flywheel.duckdb") as con:
        for name, label, key in [("support", "production", "support/v1"),
                                 ("support", "candidate", "support/v2-friendly"),
                                 ("summarizer", "production", "summarizer/v1")]:
            con.execute(SET_LABEL, {"name": name, "label": label, "hash": h[key]})
    result = offline_eval_nightly(db_path=str(project / "flywheel.duckdb"),
                                  project_dir=str(project))
    [run] = result["runs"]
    assert (run["prompt"], run["production"], run["candidate"]) == (
        "support", h["support/v1"], h["support/v2-friendly"])
    assert run["demo_model"] and result["failed"] == []
    # With no endpoint configured the step skips (it never reaches a real API by default).
    calls = server.calls
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    skipped = offline_eval_nightly(db_path=str(project / "flywheel.duckdb"),
                                   project_dir=str(project))
    assert skipped["runs"] == [] and server.calls == calls
    assert "no model endpoint" in skipped["skipped"][0]["reason"]


@pytest.mark.slow
def test_dask_cluster_with_two_workers_gives_identical_results(
    tmp_path: Path, server: DemoModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, evalset, h = make_project(tmp_path / "p", support_cases(40))
    refs = [f"support:{h['support/v1']}", f"support:{h['support/v2-friendly']}"]
    local = evaluate(project, evalset, refs)
    monkeypatch.setenv("FLYWHEEL_EVAL_RUNNER", "dask")
    before = server.calls
    on_dask = evaluate(project, evalset, refs, no_cache=True)
    assert server.calls - before == on_dask["calls"]["total"] == local["calls"]["total"]
    assert local["calls"]["processes"] == [os.getpid()]
    assert len(on_dask["calls"]["processes"]) == 2  # the two Dask worker processes
    assert os.getpid() not in on_dask["calls"]["processes"]
    assert outcome(on_dask) == outcome(local)
