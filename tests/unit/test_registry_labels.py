"""Registering prompt files, initial labels, promote, rollback (the stack), history."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flywheel.tasks.db import connect, run
from flywheel.tasks.errors import FlywheelError, UsageError
from flywheel.tasks.registry._labels import history, promote, rollback
from flywheel.tasks.registry._store import resolve
from flywheel.tasks.registry._sync import folder_files, sync_paths
from tests.conftest import REPO

pytestmark = pytest.mark.unit

V1, V2, V3 = "c770c3e82d2c", "4e87706da084", "6c30fe86e60c"  # summarizer v1, v2-concise, v3
SUPPORT_V1 = "70f434f035b4"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "prompts", tmp_path / "prompts")
    return tmp_path


def sync(db_path: Path, project: Path, folder: str = "prompts") -> dict:
    with connect(db_path) as con:
        return sync_paths(con, folder_files(project / folder), folder=project / folder,
                          base=project, by="tester").to_dict()


def label_of(db_path: Path, ref: str) -> str:
    with connect(db_path) as con:
        return resolve(con, ref).short


def table_counts(db_path: Path) -> tuple[int, ...]:
    with connect(db_path) as con:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in
                     ("prompt_versions", "prompt_names", "prompt_labels", "label_history"))


def test_sync_registers_every_file_and_places_the_declared_labels(
    db_path: Path, project: Path
) -> None:
    summary = sync(db_path, project)
    assert summary["files_seen"] == 5 and len(summary["registered"]) == 5 and not summary["errors"]
    assert {(r["name"], r["label"], r["hash"][:12]) for r in summary["labels_created"]} == {
        ("summarizer", "production", V1), ("summarizer", "candidate", V2),
        ("support", "production", SUPPORT_V1), ("support", "candidate", "4f0cb83d1c08")}
    assert label_of(db_path, "summarizer@production") == V1
    with connect(db_path) as con:
        first = history(con, "summarizer", label="production")
    assert len(first) == 1
    assert (first[0].action, first[0].from_hash, first[0].moved_by, first[0].reason) == (
        "initial", None, "tester", "initial label from prompts/summarizer/v1.yaml")


def test_sync_is_idempotent(db_path: Path, project: Path) -> None:
    sync(db_path, project)
    before = table_counts(db_path)
    again = sync(db_path, project)
    assert table_counts(db_path) == before == (5, 5, 4, 4)
    assert not again["registered"] and len(again["unchanged"]) == 5
    assert not again["labels_created"]
    assert all(k["declared_is_current"] for k in again["labels_kept"])


def test_a_declared_label_is_only_an_initial_placement(db_path: Path, project: Path) -> None:
    sync(db_path, project)
    with connect(db_path) as con:
        promote(con, "summarizer", V3, reason="bullets", by="ann")
    summary = sync(db_path, project)
    assert label_of(db_path, "summarizer@production") == V3  # the file does not move it back
    kept = [k for k in summary["labels_kept"] if not k["declared_is_current"]]
    assert [(k["label"], k["hash"][:12], k["current_hash"][:12]) for k in kept] == [
        ("production", V1, V3)]


def test_an_invalid_file_is_not_registered_and_the_valid_ones_are(
    db_path: Path, project: Path
) -> None:
    bad = (project / "prompts/summarizer/v1.yaml").read_text().replace(
        "model: gpt-4o-mini", "model: gpt-4o-mini\nmodle: typo")
    (project / "prompts/summarizer/v4-bad.yaml").write_text(bad.replace("two", "three"))
    summary = sync(db_path, project)
    assert summary["errors"] == [{"file": "prompts/summarizer/v4-bad.yaml", "line": 6,
                                  "key": "modle", "message": summary["errors"][0]["message"]}]
    assert "unknown key (did you mean 'model'?)" in summary["errors"][0]["message"]
    assert summary["files_invalid"] == 1 and len(summary["registered"]) == 5
    assert table_counts(db_path)[0] == 5  # the bad file's version is not there


def test_conflicting_label_declarations_are_refused(db_path: Path, project: Path) -> None:
    v3 = project / "prompts/summarizer/v3-detailed.yaml"
    v3.write_text(v3.read_text().replace("author: platform-team",
                                         "author: platform-team\nlabels: [production]"))
    summary = sync(db_path, project)
    refused = {e["file"] for e in summary["errors"]}
    assert refused == {"prompts/summarizer/v1.yaml", "prompts/summarizer/v3-detailed.yaml"}
    assert all(e["key"] == "labels" and "summarizer@production is declared by several versions"
               in e["message"] for e in summary["errors"])
    with connect(db_path) as con, pytest.raises(UsageError, match="no label 'production'"):
        resolve(con, "summarizer@production")


def test_promote_promote_rollback_rollback_walks_back_exactly(db_path: Path, project: Path) -> None:
    sync(db_path, project)
    with connect(db_path) as con:
        steps = [
            promote(con, "summarizer", V2, reason="shorter wins", by="ann"),
            promote(con, "summarizer", f"summarizer:{V3}", reason="bullets win", by="bob"),
            rollback(con, "summarizer", reason="too long", by="cy"),
            rollback(con, "summarizer", reason="back to v1", by="cy"),
        ]
        moves = history(con, "summarizer", label="production")
        with pytest.raises(UsageError, match=r"no promotion left to undo\. .*created by move 1"):
            rollback(con, "summarizer")
    assert [(s.from_hash[:12], s.to_hash[:12]) for s in steps] == [
        (V1, V2), (V2, V3), (V3, V2), (V2, V1)]
    assert label_of(db_path, "summarizer@production") == V1
    newest_first = [(m.action, m.from_hash and m.from_hash[:12], m.to_hash[:12], m.reason,
                     m.moved_by) for m in moves]
    assert newest_first == [
        ("rollback", V2, V1, "back to v1", "cy"),
        ("rollback", V3, V2, "too long", "cy"),
        ("promote", V2, V3, "bullets win", "bob"),
        ("promote", V1, V2, "shorter wins", "ann"),
        ("initial", None, V1, "initial label from prompts/summarizer/v1.yaml", "tester"),
    ]
    assert [m.undoes_move_id for m in moves[:2]] == [moves[3].move_id, moves[2].move_id]


def test_rollback_is_a_stack_of_promotions_as_documented(db_path: Path, project: Path) -> None:
    """The worked example in docs/registry.md, rows 1-8."""
    sync(db_path, project)
    with connect(db_path) as con:
        promote(con, "summarizer", V2)
        promote(con, "summarizer", V3)
        rollback(con, "summarizer")
        rollback(con, "summarizer")
        with pytest.raises(UsageError):
            rollback(con, "summarizer")
        promote(con, "summarizer", V3)  # "D" in the docs
        back = rollback(con, "summarizer")
        moves = history(con, "summarizer", label="production")
    assert (back.from_hash[:12], back.to_hash[:12]) == (V3, V1)
    assert [m.action for m in reversed(moves)] == [
        "initial", "promote", "promote", "rollback", "rollback", "promote", "rollback"]


def test_the_first_promotion_creates_a_label_which_cannot_be_rolled_back(
    db_path: Path, project: Path
) -> None:
    sync(db_path, project)
    with connect(db_path) as con:
        created = promote(con, "summarizer", V3, label="canary", reason="try it")
        assert created.changed and created.from_hash is None
        with pytest.raises(UsageError, match="cannot roll back summarizer@canary"):
            rollback(con, "summarizer", label="canary")
        with pytest.raises(UsageError, match="summarizer@nope: the label does not exist"):
            rollback(con, "summarizer", label="nope")


def test_promoting_to_where_the_label_points_records_nothing(db_path: Path, project: Path) -> None:
    sync(db_path, project)
    before = table_counts(db_path)
    with connect(db_path) as con:
        result = promote(con, "summarizer", "summarizer@production")
    assert not result.changed and result.to_dict()["move"] is None
    assert table_counts(db_path) == before


@pytest.mark.parametrize("name,ref,message", [
    ("summarizer", "abcdef", "no registered version matches; versions of 'summarizer': "),
    ("summarizer", SUPPORT_V1, "no registered version matches"),
    ("summarizer", f"support:{SUPPORT_V1}", "is not registered under the name 'summarizer' "
                                            "(it is registered as: support)"),
    ("summarizer", "support@production", "is not registered under the name 'summarizer'"),
    ("sumarizer", V2, "unknown prompt name 'sumarizer' (did you mean 'summarizer'?)"),
    ("summarizer", "xyz", "bad prompt reference"),
])
def test_promoting_to_a_version_not_registered_under_the_name_is_refused(
    db_path: Path, project: Path, name: str, ref: str, message: str
) -> None:
    sync(db_path, project)
    before = table_counts(db_path)
    with connect(db_path) as con, pytest.raises(UsageError) as info:
        promote(con, name, ref)
    assert message in str(info.value)
    assert table_counts(db_path) == before


def test_a_bad_label_name_is_refused(db_path: Path, project: Path) -> None:
    sync(db_path, project)
    with connect(db_path) as con, pytest.raises(UsageError, match="bad label"):
        promote(con, "summarizer", V2, label="prod uction")


def test_history_of_an_unknown_name_lists_the_known_ones(db_path: Path, project: Path) -> None:
    sync(db_path, project)
    with connect(db_path) as con, pytest.raises(UsageError,
                                                match="known names: summarizer, support"):
        history(con, "nope")


def test_a_label_edited_by_hand_is_detected_not_rolled_back_blindly(
    db_path: Path, project: Path
) -> None:
    sync(db_path, project)
    with connect(db_path) as con:
        promote(con, "summarizer", V2)
        con.execute("UPDATE prompt_labels SET hash = (SELECT hash FROM prompt_versions "
                    "WHERE hash LIKE ?) WHERE name = 'summarizer' AND label = 'production'",
                    [V3 + "%"])
        with pytest.raises(FlywheelError, match="inconsistent"):
            rollback(con, "summarizer")


def test_racing_promotions_from_two_connections_never_tear_the_label(
    db_path: Path, project: Path
) -> None:
    """Two threads, each with its own connection (DuckDB MVCC conflicts are retried)."""
    sync(db_path, project)
    failures: list[BaseException] = []

    def mover(who: str, targets: list[str]) -> None:
        try:
            with connect(db_path) as con:
                for i in range(30):
                    promote(con, "summarizer", targets[i % len(targets)], label="race", by=who)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=mover, args=("a", [V1, V2])),
               threading.Thread(target=mover, args=("b", [V3, V1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    with connect(db_path) as con:
        moves = list(reversed(history(con, "summarizer", label="race")))
        final = resolve(con, "summarizer@race").hash
    assert {m.moved_by for m in moves} == {"a", "b"}
    previous = None
    for move in moves:  # an unbroken chain: every move starts where the previous one ended
        assert move.from_hash == previous
        previous = move.to_hash
    assert final == previous


def test_an_ambiguous_prefix_lists_every_candidate(db_path: Path) -> None:
    now = datetime.now(UTC)
    with connect(db_path) as con:
        for name, digit in (("one", "1"), ("two", "2")):
            digest = "abcdef" + digit * 58
            run(con, "registry/version_insert", {"hash": digest, "name": name, "content": "{}",
                                                 "metadata": "{}", "now": now})
            run(con, "registry/name_insert", {"name": name, "hash": digest, "source_file": None,
                                              "now": now})
        with pytest.raises(UsageError) as info:
            resolve(con, "ABCDEF")
        assert str(info.value) == (
            "ambiguous prompt reference 'ABCDEF': candidates: one:abcdef111111, two:abcdef222222 "
            "(give more hex characters)")
        assert resolve(con, "two:abcdef").name == "two"  # the name singles one out
        assert resolve(con, "abcdef2").name == "two"
