"""The MLflow mirror against a real local MLflow store (SQLite tracking URI in a temporary
folder, artifacts beside it, no server), checked through ``MlflowClient``.

One store for the whole module: opening a new SQLite store runs MLflow's migrations (seconds).
The tests keep their runs apart with an experiment prefix; the prompt registry is shared, and
each test checks the aliases right after its own mirror.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from typer.testing import CliRunner

from flywheel.flows.cli import app
from flywheel.flows.nightly import nightly_flywheel
from flywheel.flows.promote import promote_flow
from flywheel.flows.rollback import rollback_flow
from flywheel.flows.steps import STEP_ORDER
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.mlflow_mirror import mirror_status, run_mirror
from flywheel.tasks.mlflow_mirror._records import KEY_TAG, RunRecord
from flywheel.tasks.mlflow_mirror._target import MlflowTarget, preflight
from flywheel.tasks.sample_data import SampleSpec, write_sample_data

SECRET = "s3cret-pa55"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, MlflowClient]]:
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder}/mlflow.db"
    client = MlflowClient(tracking_uri=uri)
    client.search_experiments(max_results=1)  # create and migrate the store once
    yield uri, client


@pytest.fixture
def no_model_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo starts its own demo model; nothing here may reach a real API."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)


def cli(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def experiment_ids(client: MlflowClient, prefix: str = "") -> dict[str, str]:
    return {e.name: e.experiment_id for e in client.search_experiments()
            if e.name.startswith(prefix) and e.name != "Default"}


def all_runs(client: MlflowClient, prefix: str = "") -> list[Any]:
    ids = list(experiment_ids(client, prefix).values())
    return list(client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000)) if ids else []


def state(client: MlflowClient, prefix: str = "") -> dict[str, Any]:
    """Every run (deleted ones too) with its params, tags and metric history lengths, every
    prompt version and alias: what a rerun must leave as it is."""
    runs = {}
    for run in all_runs(client, prefix):
        history = {k: len(client.get_metric_history(run.info.run_id, k)) for k in run.data.metrics}
        runs[run.info.run_id] = (run.info.lifecycle_stage, run.data.params, history)
    prompts = {}
    for prompt in client.search_prompts():
        for version in client.search_prompt_versions(prompt.name):
            full = client.get_prompt_version(prompt.name, version.version)
            prompts[(prompt.name, version.version)] = (version.tags["flywheel.hash"],
                                                        sorted(full.aliases))
    return {"runs": runs, "prompts": prompts}


def runs_by_key(client: MlflowClient, prefix: str = "") -> dict[str, Any]:
    active = [r for r in all_runs(client, prefix) if r.info.lifecycle_stage == "active"]
    keys = [r.data.tags[KEY_TAG] for r in active]
    assert len(keys) == len(set(keys)), "two active runs share a flywheel key"
    return dict(zip(keys, active, strict=True))


def artifact_bytes(client: MlflowClient, run_id: str, path: str, into: Path) -> bytes:
    return Path(client.download_artifacts(run_id, path, str(into))).read_bytes()


def rows(db: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def assert_aliases_match_labels(client: MlflowClient, db: Path) -> None:
    labels = rows(db, "SELECT name, label, hash FROM prompt_labels")
    assert {(r["name"], r["label"]) for r in labels} >= {("support", "production"),
                                                         ("support", "candidate")}
    for label in labels:
        version = client.get_prompt_version_by_alias(label["name"], label["label"])
        assert version.tags["flywheel.hash"] == label["hash"], label


# ------------------------------------------------------------------------- done when


@pytest.mark.slow
def test_the_demo_fills_mlflow_and_a_second_demo_or_a_rerun_adds_nothing(
    store: tuple[str, MlflowClient], tmp_path: Path, no_model_endpoint: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri, client = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    first = cli("demo", "--workdir", str(tmp_path / "demo1"), "--days", "3", "--users", "120")
    assert all(n["ok"] for n in first["nights"])
    db = Path(first["db"])
    runs = runs_by_key(client)

    # Offline evals: a parent run per eval with the production and candidate versions as children.
    for prompt in ("support", "summarizer"):
        [evaluation] = rows(db, """SELECT * FROM eval_runs WHERE json_extract_string(versions,
            '$[0].name') = ? ORDER BY finished_at DESC LIMIT 1""", prompt)
        summary = json.loads(evaluation["summary"])
        # the closed loop evaluates a new candidate most nights: the newest run's parent
        [parent] = [r for r in runs.values() if r.data.tags["flywheel.kind"] == "eval"
                    and r.data.tags["flywheel.run_id"] == evaluation["run_id"]]
        assert client.get_experiment(parent.info.experiment_id).name == prompt
        assert parent.data.params["evalset_hash"] == evaluation["evalset_hash"]
        assert parent.data.params["repeats"] == "1"
        assert parent.data.params["judge_model"] == "gpt-4o-mini"
        assert parent.data.tags["flywheel.run_id"] == evaluation["run_id"]
        assert parent.data.tags["flywheel.run_date"] == evaluation["started_at"].date().isoformat()
        comparison = summary["comparisons"][0]
        assert parent.data.metrics["pass_rate_diff"] == pytest.approx(comparison["pass_rate_diff"])
        assert parent.data.metrics["regressions"] == comparison["mcnemar"]["regressions"]
        assert json.loads(artifact_bytes(client, parent.info.run_id, "comparison.json",
                                         tmp_path)) == summary
        children = [r for r in runs.values()
                    if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert sorted(c.data.tags["flywheel.role"] for c in children) == ["baseline", "candidate"]
        for child, version in zip(sorted(children, key=lambda c: c.data.tags["flywheel.role"]),
                                  summary["versions"], strict=True):
            digest = version["hash"]
            assert child.data.params["prompt_hash"] == digest
            assert child.data.params["prompt_name"] == prompt
            assert child.data.params["model"] == "gpt-4o-mini"
            assert child.data.params["evalset_name"] == prompt
            content = artifact_bytes(client, child.info.run_id, "prompt/content.json", tmp_path)
            assert hashlib.sha256(content).hexdigest() == digest  # the version, reproducibly
            params = json.loads(content)["params"]
            assert child.data.params["temperature"] == str(float(params["temperature"]))
            assert child.data.params["max_tokens"] == str(params["max_tokens"])
            metrics = child.data.metrics
            assert metrics["pass_rate"] == pytest.approx(version["pass_rate"])
            assert metrics["mean_score"] == pytest.approx(version["mean_score"])
            assert metrics["errors"] == version["api_errors"] + version["scorer_errors"]
            assert metrics["cost_usd"] == pytest.approx(version["cost_usd"])
            latencies = [r["latency_ms"] for r in rows(
                db, "SELECT latency_ms FROM eval_results WHERE run_id = ? AND prompt_hash = ?",
                evaluation["run_id"], digest)]
            assert metrics["latency_p50_ms"] == pytest.approx(np.percentile(latencies, 50))
            assert metrics["latency_p95_ms"] == pytest.approx(np.percentile(latencies, 95))
            table = pd.read_csv(io.BytesIO(artifact_bytes(client, child.info.run_id,
                                                          "results.csv", tmp_path)))
            assert len(table) == summary["evalset"]["cases"]
            assert set(table["prompt_hash"]) == {digest}

    # A/B: one run per experiment and night, with per-variant metrics and the integrity checks.
    checks = rows(db, "SELECT experiment, strftime(run_date, '%Y-%m-%d') AS night, srm_p_value, "
                      "trustworthy, users, report FROM ab_checks")
    # the demo's experiment files: summary-length (support is served by its production label
    # and the automation's ramps, whose stages the rollout step analyses)
    assert sorted((c["experiment"], c["night"]) for c in checks) == [
        ("summary-length", f"2026-11-0{d}") for d in (1, 2, 3)]
    for check in checks:
        run = runs[f"ab/{check['experiment']}/{check['night']}"]
        assert run.data.tags["flywheel.run_date"] == check["night"]
        assert run.data.metrics["trustworthy"] == float(check["trustworthy"])
        assert run.data.metrics["users"] == check["users"]
        for arm in json.loads(check["report"])["arms"]:
            assert run.data.metrics[f"users.{arm['variant']}"] == arm["users"]
        if check["srm_p_value"] is not None:
            assert run.data.metrics["srm_p_value"] == pytest.approx(check["srm_p_value"])
    length = runs["ab/summary-length/2026-11-03"]
    assert client.get_experiment(length.info.experiment_id).name == "summarizer"
    lifts = rows(db, "SELECT metric, variant, estimate, treatment_mean FROM ab_results WHERE "
                     "run_date = '2026-11-03' AND experiment = 'summary-length' AND estimate "
                     "IS NOT NULL")
    assert lifts
    for lift in lifts:
        key = f"{lift['metric']}.{lift['variant']}"
        assert length.data.metrics[f"{key}.lift"] == pytest.approx(lift["estimate"])
        assert length.data.metrics[key] == pytest.approx(lift["treatment_mean"])

    # Prompt versions, with the flywheel hash as a tag and the labels as aliases.
    versions = rows(db, "SELECT name, hash FROM prompt_names")
    for version in versions:
        tagged = [v for v in client.search_prompt_versions(version["name"])
                  if v.tags.get("flywheel.hash") == version["hash"]]
        assert len(tagged) == 1, version
    assert_aliases_match_labels(client, db)
    status = cli("--db", str(db), "--project-dir", first["workdir"], "mlflow", "status")
    assert status["enabled"] and not status["behind"] and not any(status["pending"].values())

    # A second demo (a new DuckDB, the same sample) finds everything by tag: no run is added.
    before = state(client)
    second = cli("demo", "--workdir", str(tmp_path / "demo2"), "--days", "3", "--users", "120")
    assert all(n["ok"] for n in second["nights"])
    after = state(client)
    assert after["runs"].keys() == before["runs"].keys()
    assert after["prompts"] == before["prompts"]
    assert {k: v[:2] for k, v in after["runs"].items()} == {k: v[:2] for k, v in
                                                            before["runs"].items()}
    assert_aliases_match_labels(client, Path(second["db"]))

    # Re-running a night of the same database adds no run: the demo model comes back on the
    # demo's port, so every call is answered from the cache. The closed loop evaluated a new
    # candidate that night, so the first rerun's eval counts more cached calls (its
    # calls_cached metric gets that point); a second rerun adds nothing at all.
    port = int(second["model_endpoint"].split(":")[2].split("/")[0])
    with DemoModelServer(port=port) as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", server.base_url)
        night = nightly_flywheel(run_date="2026-11-03", db_path=second["db"],
                                 project_dir=second["workdir"])
        assert server.calls == 0
        settled = state(client)
        again = nightly_flywheel(run_date="2026-11-03", db_path=second["db"],
                                 project_dir=second["workdir"])
        assert server.calls == 0
    for result in (night, again):
        assert result["mlflow_mirror"]["status"] == "ok"
        assert len(result["offline_eval"]["runs"]) == 2 and result["offline_eval"]["failed"] == []
        assert result["mlflow_mirror"]["runs_created"] == 0
    assert settled["runs"].keys() == after["runs"].keys() and settled["prompts"] == after["prompts"]
    changed = {m for k, v in settled["runs"].items() for m in v[2] if v[2][m] != after["runs"][k][2][m]}
    assert changed <= {"calls_cached", "calls_http", "calls_total"}, changed
    assert state(client) == settled


# --------------------------------------------------------------- MLflow down or missing


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def small_project(tmp_path: Path, no_model_endpoint: None) -> Path:
    write_sample_data(tmp_path, SampleSpec(users=40, days=1))
    (tmp_path / "flywheel.toml").write_text('mlflow_experiment_prefix = "down-test/"\n')
    return tmp_path


def test_mlflow_down_never_fails_the_night_and_the_report_status_says_behind(
    store: tuple[str, MlflowClient], small_project: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri, client = store
    down = f"http://flywheel:{SECRET}@127.0.0.1:{closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", down)
    db = small_project / "f.duckdb"
    night = nightly_flywheel(run_date="2026-11-01", db_path=str(db),
                             project_dir=str(small_project))
    assert [s["status"] for s in night["steps"]] == ["ok"] * len(night["steps"])
    names = [s["step"] for s in night["steps"]]
    assert names == [s for s in STEP_ORDER if s in names]
    assert names.index("mlflow-mirror") == names.index("report") - 1
    mirror = night["mlflow_mirror"]
    assert mirror["status"] == "behind" and "does not answer" in mirror["warning"]
    settings = load_settings(db=db, project_dir=small_project)
    with connect(db) as con:
        status = mirror_status(con, settings)
        ledger = con.execute("SELECT * FROM mlflow_mirror_status").fetchall()
    assert status.behind and status.last_success_at is None
    assert "does not answer" in status.last_error
    assert status.pending["prompt_version"] == 5 and status.pending["ab"] == 2
    assert status.message.startswith(f"MLflow mirror (http://127.0.0.1:{down.rsplit(':', 1)[1]})"
                                     " is behind: the last attempt")
    assert SECRET not in json.dumps([night, status.to_dict(), ledger], default=str)
    # The night's report (the step after the mirror) says so on its index page.
    index = (small_project / "reports" / "2026-11-01" / "index.html").read_text()
    assert "is behind: the last attempt" in index and "does not answer" in index
    assert night["report"]["mlflow_mirror_behind"] and SECRET not in index

    # The store answers again: the next attempt catches up and the status says so.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    synced = cli("--db", str(db), "--project-dir", str(small_project), "mlflow", "sync")
    assert synced["status"] == "ok" and synced["runs_created"] == 2  # the two A/B nights
    status = cli("--db", str(db), "--project-dir", str(small_project), "mlflow", "status")
    assert not status["behind"] and status["message"] is None and status["last_success_at"]
    assert status["last_error"] is None and not any(status["pending"].values())
    report = cli("--db", str(db), "--project-dir", str(small_project), "report",
                 "--date", "2026-11-01")
    assert report["mlflow_mirror_behind"] is None
    assert "is behind" not in Path(report["index"]).read_text()
    assert set(experiment_ids(client, "down-test/")) == {"down-test/support",
                                                          "down-test/summarizer"}
    assert_aliases_match_labels(client, db)
    # --full re-checks everything against MLflow and finds nothing to change.
    before = state(client, "down-test/")
    again = cli("--db", str(db), "--project-dir", str(small_project), "mlflow", "sync", "--full")
    assert (again["runs_created"], again["runs_unchanged"]) == (0, 2)
    assert state(client, "down-test/") == before


def test_a_misconfigured_store_or_a_missing_mlflow_is_a_warning(
    tmp_path: Path, small_project: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = small_project / "f.duckdb"
    with connect(db):
        pass
    (tmp_path / "a-file").write_text("not a folder")
    for uri, reason in [(f"sqlite:///{tmp_path}/a-file/mlflow.db", "FileExistsError"),
                        ("nosuch://host/store", "unsupported URI 'nosuch://host/store'")]:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        result = run_mirror(load_settings(db=db, project_dir=small_project))
        assert result["status"] == "behind" and reason in result["warning"], result

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if the extra were not installed
    monkeypatch.delitem(sys.modules, "flywheel.tasks.mlflow_mirror._target", raising=False)
    result = run_mirror(load_settings(db=db, project_dir=small_project))
    assert result["status"] == "behind"
    assert "mlflow cannot be imported" in result["warning"]
    assert "pip install -e '.[mlflow]'" in result["warning"]
    with connect(db) as con:
        status = mirror_status(con, load_settings(db=db, project_dir=small_project))
    assert status.behind and "pip install" in status.message
    assert not (tmp_path / "mlflow.db").exists()


# ----------------------------------------------------------------- label moves, upserts


def test_promote_and_rollback_move_the_alias_at_once(
    store: tuple[str, MlflowClient], small_project: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri, client = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    db = small_project / "f.duckdb"
    cli("--db", str(db), "--project-dir", str(small_project), "prompts", "sync")
    cli("--db", str(db), "--project-dir", str(small_project), "mlflow", "sync")
    assert_aliases_match_labels(client, db)
    moved = promote_flow(name="support", ref="support@candidate", db_path=str(db),
                         project_dir=str(small_project))
    assert moved["mlflow_mirror"]["aliases_moved"] == 1
    assert_aliases_match_labels(client, db)
    production = client.get_prompt_version_by_alias("support", "production")
    assert production.tags["flywheel.hash"] == moved["to_hash"]
    back = rollback_flow(name="support", db_path=str(db), project_dir=str(small_project))
    assert back["mlflow_mirror"]["aliases_moved"] == 1
    assert client.get_prompt_version_by_alias("support", "production").tags[
        "flywheel.hash"] == back["to_hash"] == moved["from_hash"]


def record(key: str, params: dict[str, str], metrics: dict[str, float],
           fingerprint: str = "f1") -> RunRecord:
    return RunRecord(key=key, experiment="upsert-test", name=key, fingerprint=fingerprint,
                     start_ms=1_800_000_000_000, end_ms=1_800_000_001_000, params=params,
                     metrics=metrics, tags={"flywheel.kind": "test"},
                     artifacts={"a/b.txt": b"hello"})


def test_upsert_finds_by_tag_writes_only_differences_and_replaces_a_changed_param(
    store: tuple[str, MlflowClient], tmp_path: Path,
) -> None:
    uri, client = store
    target = MlflowTarget(uri)
    created = target.upsert_run(record("k1", {"p": "1"}, {"m": 0.5}))
    assert created.action == "created"
    again = target.upsert_run(record("k1", {"p": "1"}, {"m": 0.5}))
    assert (again.run_id, again.action, again.writes) == (created.run_id, "unchanged", 0)
    assert artifact_bytes(client, created.run_id, "a/b.txt", tmp_path) == b"hello"

    changed = target.upsert_run(record("k1", {"p": "1", "q": "2"}, {"m": 0.75}, "f2"))
    assert (changed.run_id, changed.action) == (created.run_id, "updated")
    run = client.get_run(created.run_id)
    assert run.data.params == {"p": "1", "q": "2"} and run.data.metrics == {"m": 0.75}
    assert [m.value for m in client.get_metric_history(created.run_id, "m")] == [0.5, 0.75]

    # MLflow params cannot change: the run is replaced (the old one deleted, not duplicated).
    replaced = target.upsert_run(record("k1", {"p": "9"}, {"m": 0.75}, "f3"))
    assert replaced.action == "recreated" and replaced.run_id != created.run_id
    assert client.get_run(created.run_id).info.lifecycle_stage == "deleted"

    # A duplicate left behind (say, by two mirrors at once) is deleted on the next upsert.
    experiment_id = target.experiment_id("upsert-test")
    stray = client.create_run(experiment_id, tags={KEY_TAG: "k1"}).info.run_id
    kept = target.upsert_run(record("k1", {"p": "9"}, {"m": 0.75}, "f3"))
    assert kept.run_id == replaced.run_id
    assert client.get_run(stray).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in target.find_runs(experiment_id, "k1")] == [replaced.run_id]


class _Guarded(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_health_check_fails_fast_only_when_nothing_answers() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Guarded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        preflight(f"http://127.0.0.1:{server.server_address[1]}", 2.0)  # 401 from a proxy: up
    finally:
        server.shutdown()
        server.server_close()
    port = closed_port()
    with pytest.raises(ConnectionError, match=f"does not answer at https://127.0.0.1:{port}/health") \
            as refused:
        preflight(f"https://user:{SECRET}@127.0.0.1:{port}", 2.0)
    assert SECRET not in str(refused.value)
    preflight("sqlite:////nowhere/mlflow.db", 2.0)  # not HTTP: nothing to check
