"""Linking logged requests to registered versions: the view and the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect, run
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.registry._links import describe_links, link_report
from flywheel.tasks.registry._sync import folder_files, sync_paths
from tests.conftest import REPO, request_record

pytestmark = pytest.mark.unit

SUMMARIZER_V1 = "c770c3e82d2cc3b3868b709b89a4e9ea698bae6f886953220fd64d44168c98f5"
SUPPORT_V1 = "70f434f035b40e2d82b8a86fb69a0b58d4d8bc93f84c9ed1a68927cfaf897e14"
UNKNOWN = "0123456789ab" + "0" * 52


def ingest(db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path], records: list) -> None:
    write_jsonl(tmp_path / "landing/requests-1.jsonl", records)
    summary = ingest_paths(load_settings(db=db_path, project_dir=tmp_path),
                           [str(tmp_path / "landing")]).to_dict()
    assert summary["requests_inserted"] == len(records) and summary["rejected"] == 0


def sync_examples(db_path: Path) -> None:
    with connect(db_path) as con:
        sync_paths(con, folder_files(REPO / "prompts"), base=REPO, by="t")


def view(db_path: Path) -> dict[str, tuple]:
    with connect(db_path) as con:
        rows = con.execute("SELECT request_id, version_hash, link_status, name_matches "
                           "FROM request_prompt_versions").fetchall()
    return {r[0].removeprefix("req-"): r[1:] for r in rows}


RECORDS = [
    request_record("full", prompt_name="summarizer", prompt_hash=SUMMARIZER_V1),
    request_record("prefix", prompt_name="summarizer", prompt_hash=SUMMARIZER_V1[:12]),
    request_record("upper", prompt_name="support", prompt_hash=SUPPORT_V1[:16].upper()),
    request_record("no-name", prompt_hash=SUPPORT_V1[:20]),
    request_record("wrong-name", prompt_name="support", prompt_hash=SUMMARIZER_V1[:12]),
    request_record("unknown-1", prompt_name="support", prompt_hash=UNKNOWN),
    request_record("unknown-2", prompt_name="support", prompt_hash=UNKNOWN[:12]),
    request_record("unknown-3", prompt_name="summarizer", prompt_hash=UNKNOWN),
    request_record("name-only", prompt_name="support"),
    request_record("nothing"),
]


def test_requests_link_at_query_time_once_their_version_is_registered(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    ingest(db_path, tmp_path, write_jsonl, RECORDS)
    before = view(db_path)
    assert len(before) == len(RECORDS)
    assert {k for k, v in before.items() if v[1] == "unknown"} == {
        "full", "prefix", "upper", "no-name", "wrong-name", "unknown-1", "unknown-2", "unknown-3"}
    sync_examples(db_path)
    after = view(db_path)
    assert len(after) == len(RECORDS)  # nothing dropped, nothing duplicated
    assert after["full"] == (SUMMARIZER_V1, "resolved", True)
    assert after["prefix"] == (SUMMARIZER_V1, "resolved", True)
    assert after["upper"] == (SUPPORT_V1, "resolved", True)
    assert after["no-name"] == (SUPPORT_V1, "resolved", None)
    assert after["wrong-name"] == (SUMMARIZER_V1, "resolved", False)
    assert after["unknown-1"] == (None, "unknown", None)
    assert after["name-only"] == (None, "no_hash", None)
    assert after["nothing"] == (None, "no_hash", None)


def test_the_report_counts_every_request_and_lists_unknown_hashes_with_examples(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    ingest(db_path, tmp_path, write_jsonl, RECORDS)
    sync_examples(db_path)
    with connect(db_path) as con:
        report = link_report(con, examples=5, per_hash=2)
    assert {k: report[k] for k in ("requests", "resolved", "unknown", "ambiguous", "no_hash",
                                   "no_prompt_at_all", "name_mismatch")} == {
        "requests": 10, "resolved": 5, "unknown": 3, "ambiguous": 0, "no_hash": 2,
        "no_prompt_at_all": 1, "name_mismatch": 1}
    assert report["resolved"] + report["unknown"] + report["ambiguous"] + report["no_hash"] == 10
    first, second = report["unlinked"]
    assert (first["logged_hash"], first["requests"], first["prompt_names"]) == (
        UNKNOWN, 2, ["summarizer", "support"])
    assert first["example_request_ids"] == ["req-unknown-1", "req-unknown-3"]
    assert (second["logged_hash"], second["requests"]) == (UNKNOWN[:12], 1)
    assert report["name_mismatches"][0]["logged_name"] == "support"
    assert report["name_mismatches"][0]["registered_names"] == ["summarizer"]
    text = describe_links(report)
    assert "3 with a hash the registry does not know" in text and UNKNOWN in text


def test_an_ambiguous_prefix_is_reported_unless_the_name_singles_one_out(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    twins = ["abcdefabcdef" + "1" * 52, "abcdefabcdef" + "2" * 52]
    now = datetime.now(UTC)
    with connect(db_path) as con:
        for name, digest in zip(("one", "two"), twins, strict=True):
            run(con, "registry/version_insert", {"hash": digest, "name": name, "content": "{}",
                                                 "metadata": "{}", "now": now})
            run(con, "registry/name_insert", {"name": name, "hash": digest,
                                              "source_file": None, "now": now})
    ingest(db_path, tmp_path, write_jsonl, [
        request_record("amb", prompt_hash="abcdefabcdef"),
        request_record("named", prompt_hash="abcdefabcdef", prompt_name="two"),
        request_record("longer", prompt_hash="abcdefabcdef2"),
    ])
    rows = view(db_path)
    assert rows["amb"] == (None, "ambiguous", None)
    assert rows["named"] == (twins[1], "resolved", True)
    assert rows["longer"] == (twins[1], "resolved", None)
    with connect(db_path) as con:
        report = link_report(con)
    assert report["ambiguous"] == 1
    assert report["unlinked"][0]["link_status"] == "ambiguous"


def report_from_scratch(con) -> dict:
    con.execute("DELETE FROM request_link_state")
    return link_report(con, examples=10, per_hash=3)


def test_the_report_adds_each_ingest_to_its_kept_counts_and_agrees_with_a_rebuild(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    """The kept per-pair counts, added to ingest by ingest, give the report that counting every
    request gives; a re-run with nothing new writes nothing; a deleted request rebuilds them."""
    sync_examples(db_path)
    halves = (RECORDS[::2], RECORDS[1::2])
    for number, half in enumerate(halves):
        write_jsonl(tmp_path / f"landing/requests-{number}.jsonl",
                    [{**r, "request_id": f"{r['request_id']}-{k}"} for k in range(3) for r in half])
        ingest_paths(load_settings(db=db_path, project_dir=tmp_path), [str(tmp_path / "landing")])
        with connect(db_path) as con:
            kept = link_report(con, examples=10, per_hash=3)
            state = con.execute("SELECT * FROM request_link_state").fetchall()
            assert link_report(con, examples=10, per_hash=3) == kept
            assert con.execute("SELECT * FROM request_link_state").fetchall() == state
            by_status = dict(con.execute("SELECT link_status, count(*) FROM request_prompt_versions "
                                         "GROUP BY ALL").fetchall())
            assert kept == report_from_scratch(con)
    assert {k: kept[k] for k in ("requests", "resolved", "unknown", "no_hash")} == {
        "requests": 30, "resolved": by_status["resolved"], "unknown": by_status["unknown"],
        "no_hash": by_status["no_hash"]}
    assert kept["unlinked"][0]["example_request_ids"] == [
        "req-unknown-1-0", "req-unknown-1-1", "req-unknown-1-2"]  # same ts: by request id
    with connect(db_path) as con:
        con.execute("DELETE FROM requests WHERE request_id LIKE 'req-unknown-1-%'")
        after = link_report(con, examples=10, per_hash=3)
    assert after["requests"] == 27 and after["unknown"] == kept["unknown"] - 3
