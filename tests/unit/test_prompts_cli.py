"""``flywheel prompts`` read-only commands and argument errors, in-process (no Prefect runs).

The flow-running commands and real subprocesses are in tests/integration/test_prompts_cli.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from flywheel.flows.cli import main
from flywheel.tasks.db import connect
from flywheel.tasks.registry._sync import folder_files, sync_paths
from tests.conftest import REPO

pytestmark = pytest.mark.unit

V1, V2, V3 = "c770c3e82d2c", "4e87706da084", "6c30fe86e60c"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "prompts", tmp_path / "prompts")
    with connect(tmp_path / "f.duckdb") as con:
        sync_paths(con, folder_files(tmp_path / "prompts"), base=tmp_path, by="t")
    return tmp_path


def cli(project: Path, *args: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``flywheel --db … --project-dir … ARGS`` in-process: (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["flywheel", "--db", str(project / "f.duckdb"),
                                      "--project-dir", str(project), *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    out = capsys.readouterr()
    return code, out.out, out.err


BAD = {
    ("prompts", "show", "summarizer@prod"):
        "unknown prompt reference 'summarizer@prod': 'summarizer' has no label 'prod' (did you "
        "mean 'production'?); its labels: summarizer@candidate, summarizer@production",
    ("prompts", "show", "sumarizer@production"):
        "unknown prompt name 'sumarizer' (did you mean 'summarizer'?); known names: summarizer, "
        "support",
    ("prompts", "show", "summarizer:ffffff"):
        f"versions of 'summarizer': summarizer:{V2} (candidate), summarizer:{V3}, "
        f"summarizer:{V1} (production)",
    ("prompts", "show", "ffffff"): "no registered version matches; recently registered: ",
    ("prompts", "show", "c7"): "bad prompt reference 'c7': use NAME@LABEL, NAME:HASH or HASH",
    ("prompts", "diff", "summarizer@production", "xyz"): "bad prompt reference 'xyz'",
    ("prompts", "promote", "summarizer", "ffffff"): "no registered version matches",
    ("prompts", "promote", "nope", V2): "unknown prompt name 'nope'",
    ("prompts", "promote", "summarizer", "support@production"):
        "is not registered under the name 'summarizer' (it is registered as: support)",
    ("prompts", "promote", "summarizer", V2, "--label", "bad label"): "bad label 'bad label'",
    ("prompts", "rollback", "summarizer"): "cannot roll back summarizer@production: no "
                                           "promotion left to undo",
    ("prompts", "rollback", "summarizer", "--label", "canary"):
        "cannot roll back summarizer@canary: the label does not exist",
    ("prompts", "history", "nope"): "unknown prompt name 'nope'",
    ("prompts", "sync", "missing-folder"): "missing-folder: no such folder",
    ("prompts", "hash", "nope.yaml"): "nope.yaml: no such file",
    ("prompts", "links", "--examples", "-1"): "--examples must be >= 0",
}


@pytest.mark.parametrize("args,message", BAD.items(), ids=[" ".join(a) for a in BAD])
def test_bad_refs_and_arguments_exit_2_naming_the_candidates(
    project: Path, args: tuple[str, ...], message: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = cli(project, *args, "--json", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2, err
    assert message in err and err.startswith("error: ") and err.count("\n") == 1
    # --json: one JSON object on stdout even on failure, the error in it (issue 23)
    assert json.loads(out) == {"error": err.removeprefix("error: ").rstrip("\n"), "exit_code": 2}


def test_a_missing_database_is_not_created_by_a_read_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(tmp_path, "prompts", "list", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and "no database at" in err
    assert not (tmp_path / "f.duckdb").exists()


def test_register_refuses_a_bad_file_before_touching_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "prompts/x.yaml"
    bad.parent.mkdir()
    bad.write_text("name: x\nmodel: m\ntemplate: hi\nparams: {temperature: hot}\n")
    code, _, err = cli(tmp_path, "prompts", "register", str(bad), monkeypatch=monkeypatch,
                       capsys=capsys)
    assert code == 2
    assert "prompts/x.yaml:4: params.temperature: expected a number, got the string 'hot'" in err
    assert not (tmp_path / "f.duckdb").exists()


def test_read_commands_print_one_json_object(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*args: str) -> dict:
        code, out, err = cli(project, *args, "--json", monkeypatch=monkeypatch, capsys=capsys)
        assert code == 0, err
        return json.loads(out)

    hashed = run("prompts", "hash", str(project / "prompts/summarizer/v1.yaml"))
    assert hashed["file"] == "prompts/summarizer/v1.yaml" and hashed["short"] == V1
    assert hashed["canonical_json"].startswith('{"model":"gpt-4o-mini","params":')
    assert [p["name"] for p in run("prompts", "list")["prompts"]] == ["summarizer", "support"]
    shown = run("prompts", "show", f"summarizer:{V2}")
    assert shown["labels"] == ["summarizer@candidate"] and shown["metadata"]["author"]
    assert shown["names"][0]["source_file"] == "prompts/summarizer/v2-concise.yaml"
    diff = run("prompts", "diff", "summarizer@production", "summarizer@production")
    assert diff["identical"] and diff["diff"] == ""
    diff = run("prompts", "diff", "support@production", "support@candidate")
    assert diff["changed_keys"] == ["few_shot", "params", "system"]
    history = run("prompts", "history", "support")
    assert [m["action"] for m in history["moves"]] == ["initial", "initial"]
    assert run("prompts", "links")["requests"] == 0


def test_human_output_of_list_and_show(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, listed, _ = cli(project, "prompts", "list", monkeypatch=monkeypatch, capsys=capsys)
    assert listed.splitlines()[1].split() == [
        "summarizer", "3", f"candidate={V2}", f"production={V1}"]
    _, shown, _ = cli(project, "prompts", "show", "support@candidate", monkeypatch=monkeypatch,
                      capsys=capsys)
    assert "variables:  order_id, question" in shown
    assert shown.index("few_shot[0] user:") < shown.index("template:")


@pytest.mark.parametrize("args", [("rollout", "status"), ("rollout", "history"),
                                  ("rollout", "restart", "some-experiment"), ("mlflow", "status")])
def test_every_reading_command_refuses_a_mistyped_database_without_creating_it(
    tmp_path: Path, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = cli(tmp_path, *args, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2 and "no database at" in err
    assert not (tmp_path / "f.duckdb").exists()
