"""What the MLflow mirror would write, built from flywheel rows (no MLflow needed), and the
mirror's status in a real DuckDB file."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.mlflow_mirror import mirror_status
from flywheel.tasks.mlflow_mirror._records import (
    MAX_PARAM_CHARS,
    ab_record,
    alias_problem,
    control_ref,
    describe_error,
    eval_record,
    model_config,
    param_value,
    prompt_messages,
    prompt_name_of_ref,
    prompt_record,
    safe_key,
)
from flywheel.tasks.mlflow_mirror._status import LedgerEntry, public_uri, record_attempt
from flywheel.tasks.registry._hashing import canonical_content, canonical_json, prompt_hash
from flywheel.tasks.registry._labels import place_initial_label, promote
from flywheel.tasks.registry._store import register_version
from tests.conftest import REPO

STARTED = datetime(2026, 11, 4, 1, 2, 3, tzinfo=UTC)
FINISHED = datetime(2026, 11, 4, 1, 2, 9, tzinfo=UTC)


def spec(path: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "prompts" / path).read_text())


def version_stats(digest: str, pass_rate: float, api_errors: int) -> dict[str, Any]:
    return {"hash": digest, "cases": 4, "cases_scored": 4 - api_errors, "cases_errored": api_errors,
            "pass_rate": pass_rate, "pass_rate_ci": [0.1, 0.9], "mean_score": 0.7,
            "mean_score_ci": [None, None], "consistency": 1.0, "api_errors": api_errors,
            "scorer_errors": 1, "prompt_tokens": 100, "completion_tokens": 20,
            "judge_prompt_tokens": 5, "judge_completion_tokens": 1, "cost_usd": None}


@pytest.fixture
def eval_item() -> dict[str, Any]:
    base, cand = spec("support/v1.yaml"), spec("support/v2-friendly.yaml")
    versions = [{"ref": "support@production", "name": "support", "hash": prompt_hash(base)},
                {"ref": "support@candidate", "name": "support", "hash": prompt_hash(cand)}]
    summary = {"run_id": "eval-1", "versions": [version_stats(versions[0]["hash"], 0.5, 0),
                                                version_stats(versions[1]["hash"], 0.75, 1)],
               "comparisons": [{"candidate_hash": versions[1]["hash"], "pass_rate_diff": 0.25,
                                "pass_rate_diff_ci": [-0.1, 0.6], "mean_score_diff": 0.1,
                                "mean_score_diff_ci": [0.0, 0.2], "paired_cases": 3,
                                "mcnemar": {"regressions": 0, "improvements": 1, "p_value": 1.0}}],
               "calls": {"judge": 2}, "errors": {"api": 1, "scorer": 2}}
    return {"kind": "eval", "item_key": "k" * 64, "fingerprint": "eval-1", "run_id": "eval-1",
            "versions": json.dumps(versions), "summary": json.dumps(summary),
            "evalset_name": "support", "evalset_hash": "e" * 64, "cases": 4, "repeats": 2,
            "judge_model": None, "trigger": "nightly", "started_at": STARTED,
            "finished_at": FINISHED, "demo_model": True, "cost_usd": None, "calls_total": 18,
            "calls_cached": 18, "calls_errored": 0, "prompt_tokens": 200, "completion_tokens": 40,
            "_contents": {prompt_hash(base): canonical_content(base),
                          prompt_hash(cand): canonical_content(cand)}}


def test_an_eval_is_a_parent_run_with_a_child_per_version(eval_item: dict[str, Any]) -> None:
    versions = json.loads(eval_item["versions"])
    latency = {versions[0]["hash"]: {"latency_p50_ms": 12.5, "latency_p95_ms": 40.0}}
    csvs = {"": b"all", versions[0]["hash"]: b"base", versions[1]["hash"]: b"cand"}
    parent = eval_record(eval_item, eval_item["_contents"], latency, csvs, "team/")
    assert parent.experiment == "team/support" and parent.key == "eval/" + "k" * 64
    assert parent.params["judge_model"] == "none" and parent.params["repeats"] == "2"
    assert parent.params["candidate_hash"] == versions[1]["hash"]
    assert parent.metrics["pass_rate_diff"] == 0.25 and parent.metrics["improvements"] == 1
    assert "cost_usd" not in parent.metrics  # unknown cost is left out, never 0
    assert parent.tags["flywheel.run_id"] == "eval-1"
    assert parent.tags["flywheel.run_date"] == "2026-11-04"
    assert parent.tags["flywheel.demo_model"] == "true"
    assert "demo model" in parent.tags["mlflow.note.content"]
    assert parent.start_ms == int(STARTED.timestamp() * 1000)
    assert parent.end_ms == parent.start_ms + 6000
    assert json.loads(parent.artifacts["comparison.json"]) == json.loads(eval_item["summary"])
    assert parent.artifacts["results.csv"] == b"all"

    base, cand = parent.children
    assert (base.tags["flywheel.role"], cand.tags["flywheel.role"]) == ("baseline", "candidate")
    assert base.key == f"{parent.key}/{versions[0]['hash']}"
    assert base.params["prompt_hash"] == versions[0]["hash"]
    assert base.params["prompt_ref"] == "support@production"
    assert (base.params["temperature"], base.params["max_tokens"]) == ("0.2", "300")
    assert base.params["model"] == "gpt-4o-mini" and base.params["evalset_hash"] == "e" * 64
    assert base.metrics["latency_p95_ms"] == 40.0 and "latency_p50_ms" not in cand.metrics
    assert cand.metrics["errors"] == 2 and cand.metrics["api_errors"] == 1
    assert cand.metrics["total_tokens"] == 126 and cand.metrics["pass_rate"] == 0.75
    assert "mean_score_ci_low" not in cand.metrics
    content = base.artifacts["prompt/content.json"]
    assert hashlib.sha256(content).hexdigest() == versions[0]["hash"]
    assert cand.artifacts["results.csv"] == b"cand"
    assert cand.prompts == [("support", versions[1]["hash"])]


def test_prompt_params_other_than_temperature_and_max_tokens_become_params_too(
    eval_item: dict[str, Any],
) -> None:
    versions = json.loads(eval_item["versions"])
    odd = {"model": "gpt-4o", "template": "{{ q }}",
           "params": {"seed": 7, "stop": ["\n\n", "END"], "response_format": {"type": "json_object"},
                      "top_p": 0.9}}
    contents = {versions[0]["hash"]: canonical_content(odd)}
    [child, _] = eval_record(eval_item, contents, {}, {}, "").children
    assert child.params["seed"] == "7" and child.params["top_p"] == "0.9"
    assert json.loads(child.params["stop"]) == ["\n\n", "END"]
    assert child.params["response_format"] == '{"type":"json_object"}'


def test_prompt_versions_keep_the_template_and_map_params_to_the_model_config() -> None:
    content = canonical_content(spec("support/v2-friendly.yaml"))
    messages = prompt_messages(content)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[-1]["content"] == content["template"]  # Jinja2 as written
    assert model_config({"model": "m", "params": {"temperature": 0.1, "stop": "X", "seed": 3}}) == {
        "model_name": "m", "temperature": 0.1, "stop_sequences": ["X"], "extra_params": {"seed": 3}}
    digest = prompt_hash(spec("support/v1.yaml"))
    record = prompt_record({"name": "support", "hash": digest,
                            "content": canonical_json(canonical_content(spec("support/v1.yaml"))),
                            "metadata": json.dumps({"description": "prod", "author": "a"}),
                            "source_file": "prompts/support/v1.yaml"})
    assert record.tags["flywheel.hash"] == digest and record.tags["flywheel.author"] == "a"
    assert record.description == "prod" and record.model_config["max_tokens"] == 300


def ab_item(report: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "ab", "item_key": "tone-test/2026-11-05", "fingerprint": "abc",
            "experiment": "tone-test", "run_date": "2026-11-05", "users": 30, "requests": 90,
            "report": json.dumps(report), "computed_at": FINISHED}


def test_an_ab_night_has_per_variant_metrics_the_lift_and_the_checks() -> None:
    report = {
        "status": "untrustworthy", "trustworthy": False, "winner": None, "control": "control",
        "primary_metric": "thumbs_up_rate", "alpha": 0.05, "mde": 0.05, "start": "2026-11-03",
        "checks": {"srm_p_value": 0.0004, "assignment_mismatch_share": 0.0, "multi_arm_users": 2,
                   "failed": ["srm"]},
        "sample": {"needed": 1000, "days_remaining": None},
        "arms": [{"variant": "control", "users": 10, "requests": 40, "weight": 0.5,
                  "prompt": "support@production", "observed_share": 0.33},
                 {"variant": "friendly", "users": 20, "requests": 50, "weight": 0.5,
                  "prompt": "support:4f0cb83d1c08", "observed_share": 0.67}],
        "metrics": [{"metric": "thumbs_up_rate", "variant": "friendly", "control": "control",
                     "control_mean": 0.5, "treatment_mean": 0.6, "estimate": 0.2, "ci_low": -0.1,
                     "ci_high": 0.5, "p_value": 0.2, "p_value_adjusted": 0.4,
                     "chance_to_win": float("nan")}],
        "guardrails": [{"metric": "error_rate", "variant": "friendly", "status": "untrustworthy"}],
        "sequential": {"enabled": True, "tuning": 5000},
    }
    assert prompt_name_of_ref(control_ref(report)) == "support"
    run = ab_record(ab_item(report), "support", b"csv", "")
    assert run.experiment == "support" and run.key == "ab/tone-test/2026-11-05"
    assert run.metrics["users.friendly"] == 20 and run.metrics["requests.control"] == 40
    assert run.metrics["thumbs_up_rate.control"] == 0.5
    assert run.metrics["thumbs_up_rate.friendly"] == 0.6
    assert run.metrics["thumbs_up_rate.friendly.lift"] == 0.2
    assert "thumbs_up_rate.friendly.chance_to_win" not in run.metrics  # NaN is left out
    assert (run.metrics["srm_p_value"], run.metrics["trustworthy"]) == (0.0004, 0.0)
    assert run.metrics["multi_arm_users"] == 2 and run.metrics["failed_checks"] == 1
    assert "days_remaining" not in run.metrics
    assert run.tags["flywheel.failed_checks"] == "srm"
    assert run.tags["guardrail.error_rate.friendly"] == "untrustworthy"
    assert "integrity checks failed: srm" in run.tags["mlflow.note.content"]
    assert json.loads(run.params["variants"]) == {"control": "support@production",
                                                  "friendly": "support:4f0cb83d1c08"}
    # No prompt name found for the control: the run goes to an experiment named after the test.
    assert ab_record(ab_item(report), None, b"", "x/").experiment == "x/tone-test"


def test_names_values_and_uris_fit_mlflow_and_keep_secrets_out() -> None:
    assert alias_problem("production") is None and alias_problem("candidate-2") is None
    assert "reserves" in alias_problem("v2") and "reserves" in alias_problem("Latest")
    assert "letters" in alias_problem("canary.eu")
    assert prompt_name_of_ref("4f0cb83d1c08") is None
    assert safe_key("latency p95 (ms)") == "latency p95 _ms_"
    long = param_value("x" * (MAX_PARAM_CHARS + 10))
    assert len(long) == MAX_PARAM_CHARS and long.endswith("…")
    assert public_uri("https://me:pw@mlflow.example.com:5000/x") == "https://mlflow.example.com:5000/x"
    assert public_uri("sqlite:////tmp/m.db") == "sqlite:////tmp/m.db"
    error = describe_error(ConnectionError("refused https://me:pw0rd@host\nmore"), ["pw0rd"])
    assert error == "ConnectionError: refused https://me:***@host"


def test_the_tracking_uri_comes_from_the_environment_or_flywheel_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path).mlflow_tracking_uri is None
    (tmp_path / "flywheel.toml").write_text('mlflow_tracking_uri = "sqlite:///a.db"\n'
                                            'mlflow_experiment_prefix = "fw/"\n')
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    assert (settings.mlflow_tracking_uri, settings.mlflow_experiment_prefix) == (
        "sqlite:///a.db", "fw/")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert load_settings(db=tmp_path / "f.duckdb",
                         project_dir=tmp_path).mlflow_tracking_uri == "http://127.0.0.1:5000"


def test_the_status_is_behind_until_every_item_is_mirrored_and_after_a_failed_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    db = tmp_path / "f.duckdb"
    off = load_settings(db=db, project_dir=tmp_path)
    settings = load_settings(db=db, project_dir=tmp_path,
                             mlflow_tracking_uri="http://u:pw@mlflow.local:5000")
    with connect(db) as con:
        assert not mirror_status(con, off).enabled and not mirror_status(con, off).behind
        versions = [register_version(con, spec(p))[0]
                    for p in ("support/v1.yaml", "support/v2-friendly.yaml")]
        place_initial_label(con, "support", "production", versions[0].hash, source_file="v1")
        status = mirror_status(con, settings)
        assert status.behind and status.tracking_uri == "http://mlflow.local:5000"
        assert status.pending == {"alias": 1, "prompt_version": 2}
        assert status.message.startswith("MLflow mirror (http://mlflow.local:5000) is behind: "
                                         "it has never run; not yet in MLflow: 1 aliases, "
                                         "2 prompt versions (no complete sync yet)")
        uri = status.tracking_uri
        entries = [LedgerEntry("prompt_version", f"support/{v.hash}", v.hash, "support/1")
                   for v in versions]
        entries.append(LedgerEntry("alias", "support@production", versions[0].hash, "p"))
        record_attempt(con, uri, STARTED, entries, None, {"runs_created": 0})
        status = mirror_status(con, settings)
        assert not status.behind and status.message is None
        assert status.last_success_at == STARTED and status.pending == {}

        record_attempt(con, uri, FINISHED, [], "ConnectionError: refused", {})
        status = mirror_status(con, settings)
        assert status.behind and status.last_success_at == STARTED
        assert status.last_error == "ConnectionError: refused"
        assert "failed: ConnectionError: refused" in status.message
        assert "(last complete sync 2026-11-04 01:02 UTC)" in status.message
        # A label move makes the alias pending again, even after a successful attempt.
        record_attempt(con, uri, FINISHED, [], None, {})
        promote(con, "support", versions[1].hash)
        status = mirror_status(con, settings)
        assert status.behind and status.pending == {"alias": 1}
