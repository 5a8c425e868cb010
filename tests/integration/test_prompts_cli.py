"""``flywheel prompts …`` run as a user runs it, and promotions racing from two processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flywheel.tasks.db import connect
from flywheel.tasks.registry._sync import folder_files, sync_paths
from tests.conftest import REPO
from tests.unit.test_registry_hashing import documented_hash

pytestmark = pytest.mark.integration

V1, V2, V3 = "c770c3e82d2c", "4e87706da084", "6c30fe86e60c"  # summarizer v1, v2-concise, v3


def flywheel(*args: str, cwd: Path, env: dict[str, str] | None = None,
             wait: bool = True) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    full_env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "USER": "alice",
                **(env or {})}
    command = ["flywheel", "--db", str(cwd / "f.duckdb"), "--project-dir", str(cwd), *args]
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=full_env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=full_env,
                          timeout=300)


def ok_json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "prompts", tmp_path / "prompts")
    return tmp_path


@pytest.mark.parametrize("path", sorted((REPO / "prompts").rglob("*.yaml")),
                         ids=lambda p: p.name)
def test_prompts_hash_equals_the_documented_five_lines(path: Path, tmp_path: Path) -> None:
    result = flywheel("prompts", "hash", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == documented_hash(path) + "\n"
    assert not (tmp_path / "f.duckdb").exists()  # hashing writes nothing


def test_promote_promote_rollback_rollback_through_the_cli(
    project: Path, prefect_api: dict[str, str]
) -> None:
    synced = ok_json(flywheel("prompts", "sync", "--json", cwd=project, env=prefect_api))
    assert len(synced["registered"]) == 5 and len(synced["labels_created"]) == 4

    moves = [("promote", V2, "--reason", "shorter wins"),
             ("promote", f"summarizer:{V3}", "--reason", "bullets win", "--by", "bob"),
             ("rollback", "--reason", "too long"),
             ("rollback", "--reason", "back to v1", "--by", "carol")]
    for command, *rest in moves:
        args = ["prompts", command, "summarizer", *rest, "--json"]
        assert ok_json(flywheel(*args, cwd=project, env=prefect_api))["changed"]

    history = ok_json(flywheel("prompts", "history", "summarizer", "--label", "production",
                               "--json", cwd=project))
    got = [(m["action"], (m["from_hash"] or "-")[:12], m["to_hash"][:12], m["reason"],
            m["moved_by"]) for m in history["moves"]]
    assert got == [
        ("rollback", V2, V1, "back to v1", "carol"),
        ("rollback", V3, V2, "too long", "alice"),
        ("promote", V2, V3, "bullets win", "bob"),
        ("promote", V1, V2, "shorter wins", "alice"),
        ("initial", "-", V1, "initial label from prompts/summarizer/v1.yaml", "alice"),
    ]
    shown = ok_json(flywheel("prompts", "show", "summarizer@production", "--json", cwd=project))
    assert shown["short"] == V1 and shown["labels"] == ["summarizer@production"]
    assert shown["variables"] == ["text"]
    listed = ok_json(flywheel("prompts", "list", "--json", cwd=project))["prompts"]
    assert [(p["name"], p["versions"], p["labels"]["production"][:12]) for p in listed] == [
        ("summarizer", 3, V1), ("support", 2, "70f434f035b4")]
    diff = flywheel("prompts", "diff", "summarizer@production", "summarizer@candidate",
                    cwd=project)
    assert diff.returncode == 0
    assert "-params.max_tokens: 200\n+params.max_tokens: 80" in diff.stdout
    human = flywheel("prompts", "history", "summarizer", cwd=project)
    assert "rollback (undoes #" in human.stdout and "by carol: back to v1" in human.stdout


def test_bad_files_and_bad_refs_exit_2_naming_the_file_key_or_candidates(
    project: Path, prefect_api: dict[str, str]
) -> None:
    bad = project / "prompts/summarizer/v9-bad.yaml"
    bad.write_text("name: summarizer\nmodel: gpt-4o-mini\ntemplate: |\n  {{ text\n"
                   "few_shot:\n  - {role: bot, content: hi}\n")
    for command in (("prompts", "hash", str(bad)), ("prompts", "register", str(bad))):
        result = flywheel(*command, cwd=project)
        assert result.returncode == 2, result.stderr
        assert "prompts/summarizer/v9-bad.yaml:4: template: not a valid Jinja2" in result.stderr
        assert "prompts/summarizer/v9-bad.yaml:6: few_shot[0].role: expected user or " \
               "assistant, got the string 'bot'" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (project / "f.duckdb").exists()  # nothing was registered

    synced = flywheel("prompts", "sync", "--json", cwd=project, env=prefect_api)
    assert synced.returncode == 2
    summary = json.loads(synced.stdout)
    assert len(summary["registered"]) == 5 and summary["files_invalid"] == 1
    assert {e["file"] for e in summary["errors"]} == {"prompts/summarizer/v9-bad.yaml"}
    assert "1 invalid prompt file(s), not registered" in synced.stderr

    cases = {  # the breadth of bad REFs is in tests/unit/test_prompts_cli.py (in-process)
        ("prompts", "show", "summarizer:ffffff"):
            f"versions of 'summarizer': summarizer:{V2} (candidate), summarizer:{V3}, "
            f"summarizer:{V1} (production)",
        ("prompts", "promote", "summarizer", "support@production"):
            "is not registered under the name 'summarizer'",
        ("prompts", "rollback", "summarizer"): "no promotion left to undo",
    }
    for args, message in cases.items():
        result = flywheel(*args, cwd=project)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""


def chain_is_intact(project: Path, label: str) -> list[dict]:
    """The label's moves, oldest first, each starting where the previous one ended."""
    history = ok_json(flywheel("prompts", "history", "summarizer", "--label", label, "--json",
                               cwd=project))
    moves = list(reversed(history["moves"]))
    previous = None
    for move in moves:
        assert move["from_hash"] == previous, moves
        previous = move["to_hash"]
    shown = ok_json(flywheel("prompts", "show", f"summarizer@{label}", "--json", cwd=project))
    assert shown["hash"] == previous
    return moves


def register_examples(project: Path) -> None:
    """Register the example prompts in-process (the sync flow is tested above)."""
    with connect(project / "f.duckdb") as con:
        sync_paths(con, folder_files(project / "prompts"), base=project, by="alice")


def test_two_cli_promotions_racing_both_land_and_the_label_is_never_torn(
    project: Path, prefect_api: dict[str, str]
) -> None:
    register_examples(project)
    racers = [flywheel("prompts", "promote", "summarizer", target, "--by", who, "--json",
                       cwd=project, env=prefect_api, wait=False)
              for who, target in (("ann", V2), ("bob", V3))]
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err
        assert json.loads(out)["changed"]
    moves = chain_is_intact(project, "production")
    assert [m["action"] for m in moves] == ["initial", "promote", "promote"]
    assert {m["moved_by"] for m in moves[1:]} == {"ann", "bob"}


RACER = textwrap.dedent("""
    import sys
    from flywheel.tasks.db import connect
    from flywheel.tasks.registry._labels import promote
    db, who, *targets = sys.argv[1:]
    for i in range(20):
        with connect(db, timeout_s=60) as con:
            promote(con, "summarizer", targets[i % len(targets)], label="race", by=who)
""")


def test_two_processes_promoting_in_a_loop_leave_an_unbroken_history(project: Path) -> None:
    """Two processes contending for DuckDB's writer lock, opening the file for every move."""
    register_examples(project)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(project / "f.duckdb"), who,
                                *targets], env=env, stderr=subprocess.PIPE, text=True)
              for who, targets in (("ann", [V1, V2]), ("bob", [V3]))]
    for racer in racers:
        _, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err
    moves = chain_is_intact(project, "race")
    by = [m["moved_by"] for m in moves]
    assert by.count("ann") == 20  # ann alternates, so every one of her promotions moves it
    assert 1 <= by.count("bob") <= 20  # bob's repeats of the same target may be no-ops
