"""Native ingest: loading, quarantine, idempotency, unreadable files, odd but valid input."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.ingest import ingest_paths
from tests.conftest import feedback_record, request_record

pytestmark = pytest.mark.unit


def ingest(db_path: Path, *paths: Path) -> dict[str, Any]:
    return ingest_paths(load_settings(db=db_path, project_dir=db_path.parent), list(paths)).to_dict()


def query(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db_path))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def counts(db_path: Path) -> dict[str, int]:
    tables = ["requests", "feedback", "rejected_records", "ingest_ledger", "ingest_failures"]
    return {t: query(db_path, f"SELECT count(*) FROM {t}")[0][0] for t in tables}


def test_clean_files_load_every_field(db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    write_jsonl(tmp_path / "in/requests-1.jsonl", [
        request_record(1, session_id="s1", experiment="tone-test", variant="control",
                       prompt_name="support", prompt_hash="ABCDEF0123456789", metadata={"k": [1]},
                       messages=[{"role": "user", "content": "hi"}], cost_usd=0.001),
    ])
    write_jsonl(tmp_path / "in/feedback-1.jsonl", [feedback_record(1, value="up")])
    summary = ingest(db_path, tmp_path / "in")
    assert summary["requests_inserted"] == 1 and summary["feedback_inserted"] == 1
    row = query(db_path, "SELECT ts::VARCHAR, user_id, prompt_hash, latency_ms, prompt_tokens, "
                         "cost_usd, cost_estimated, metadata->>'$.k[0]', source_file FROM requests")[0]
    assert row[0].startswith("2026-11-02 08:00:00")  # stored as UTC
    assert row[1:8] == ("user-1", "abcdef0123456789", 812.5, 120, 0.001, False, "1")
    assert row[8].endswith("requests-1.jsonl")
    assert query(db_path, "SELECT kind, value FROM feedback") == [("thumbs", 1.0)]


def test_missing_cost_is_priced_from_the_table_by_dated_model_prefix(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    write_jsonl(tmp_path / "requests.jsonl", [
        request_record(1, model="gpt-4o-mini-2024-07-18", prompt_tokens=1_000_000, completion_tokens=0),
        request_record(2, model="my-own-model"),
    ])
    ingest(db_path, tmp_path / "requests.jsonl")
    rows = query(db_path, "SELECT request_id, cost_usd, cost_estimated FROM requests ORDER BY 1")
    assert rows == [("req-1", pytest.approx(0.15), True), ("req-2", None, False)]


BAD_REQUESTS = [
    ("{not json", "not valid JSON"),
    ('["a", "list"]', "not a JSON object"),
    (request_record("a", user_id=...), "missing required field user_id"),
    (request_record("b", request_id=...), "missing required field request_id"),
    (request_record("c", model=...), "missing required field model"),
    (request_record("d", timestamp=...), "missing required field timestamp"),
    (request_record("e", timestamp="not a time"), "timestamp: not an ISO 8601 date-time"),
    (request_record("f", latency_ms=-1), "latency_ms: must be >= 0"),
    (request_record("g", latency_ms="fast"), "latency_ms: expected a number"),
    (request_record("h", prompt_tokens=-5), "prompt_tokens: must be >= 0"),
    (request_record("i", completion_tokens=[1]), "completion_tokens: expected an integer"),
    (request_record("j", cost_usd=-0.1), "cost_usd: must be >= 0"),
    (request_record("k", input=..., messages=...), "needs input or messages"),
    (request_record("l", input="text"), "input: expected an object"),
    (request_record("m", messages=[{"content": "no role"}]), "messages: every message needs a role"),
    (request_record("n", prompt_hash="xyz"), "prompt_hash: expected 12 to 64 hex"),
    # issue 23's probes: DuckDB reads each of these as some moment; none is a real one
    (request_record("o", timestamp="2026-11-03T10:00:00+25:00"), "timestamp: UTC offset out of range"),
    (request_record("p", timestamp="2026-11-03T10:00:00-14:30"), "timestamp: UTC offset out of range"),
    (request_record("q", timestamp="9999-12-31T23:59:59Z"), "timestamp: year outside 1970-2199"),
    (request_record("r", timestamp="0001-01-01T00:00:00Z"), "timestamp: year outside 1970-2199"),
]

BAD_FEEDBACK = [
    (feedback_record("a", kind="rating", value=7), "value: rating must be from 1 to 5"),
    (feedback_record("b", kind="rating", value=0), "value: rating must be from 1 to 5"),
    (feedback_record("c", kind="rating", value="great"), "value: rating needs a number"),
    (feedback_record("d", kind="smile"), "kind: unknown feedback kind"),
    (feedback_record("e", kind="correction"), "correction without corrected_output"),
    (feedback_record("f", kind="thumbs", value="maybe"), "value: thumbs needs 1/0"),
    (feedback_record("g", kind="thumbs", value=...), "value: thumbs needs 1/0"),
    (feedback_record("h", feedback_id=...), "missing required field feedback_id"),
    (feedback_record("i", timestamp="31/12/2026"), "timestamp: not an ISO 8601"),
    (feedback_record("j", timestamp="2026-11-03T10:05:00+25:00"), "timestamp: UTC offset out of range"),
    (feedback_record("k", timestamp="9999-01-01T00:00:00Z"), "timestamp: year outside 1970-2199"),
]


@pytest.mark.parametrize(("kind", "bad"), [("requests", BAD_REQUESTS), ("feedback", BAD_FEEDBACK)])
def test_each_bad_record_is_quarantined_with_its_line_and_reason_and_the_rest_loads(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path], kind: str,
    bad: list[tuple[Any, str]],
) -> None:
    make = request_record if kind == "requests" else feedback_record
    lines: list[Any] = []
    expected: dict[int, str] = {}
    for i, (record, reason) in enumerate(bad):
        lines.append(make(f"good{i}"))
        lines.append(record)
        expected[len(lines)] = reason
    lines.append(make("last"))
    write_jsonl(tmp_path / f"{kind}-mixed.jsonl", lines)
    summary = ingest(db_path, tmp_path)
    assert summary[f"{kind}_inserted"] == len(lines) - len(bad)
    assert summary["rejected"] == len(bad)
    rejected = query(db_path, "SELECT line_no, reason, raw, kind FROM rejected_records ORDER BY line_no")
    assert [r[0] for r in rejected] == sorted(expected)
    for line_no, reason, raw, logged_kind in rejected:
        assert reason.startswith(expected[line_no]), (line_no, reason)
        assert raw == (lines[line_no - 1] if isinstance(lines[line_no - 1], str)
                       else json.dumps(lines[line_no - 1], ensure_ascii=False))
        assert logged_kind == kind


def test_ingesting_the_same_folder_twice_changes_no_table(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    write_jsonl(tmp_path / "in/requests-a.jsonl", [request_record(i) for i in range(5)] + ["bad"])
    write_jsonl(tmp_path / "in/feedback-a.jsonl", [feedback_record(i) for i in range(3)])
    first = ingest(db_path, tmp_path / "in")
    before = counts(db_path)
    second = ingest(db_path, tmp_path / "in")
    assert counts(db_path) == before
    assert first["files_ingested"] == 2 and second["files_skipped"] == 2
    assert second["requests_inserted"] == second["rejected"] == 0


def test_files_the_ledger_holds_are_skipped_by_path_size_and_mtime_without_being_read(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from flywheel.tasks.ingest import _run

    hashed: list[str] = []
    real_sha256 = _run.sha256_of
    monkeypatch.setattr(_run, "sha256_of", lambda path: hashed.append(path.name) or real_sha256(path))
    old = write_jsonl(tmp_path / "in/requests-a.jsonl", [request_record(i) for i in range(3)])
    touched = write_jsonl(tmp_path / "in/requests-b.jsonl", [request_record(i) for i in range(3, 5)])
    ingest(db_path, tmp_path / "in")
    assert sorted(hashed) == ["requests-a.jsonl", "requests-b.jsonl"]
    hashed.clear()
    # unchanged: not read at all; touched (same bytes, new mtime): hashed, found, skipped;
    # changed (a record appended, same mtime as before): hashed and its new record loaded
    stat = old.stat()
    write_jsonl(old, [request_record(i) for i in range(3)] + [request_record(7)])
    os.utime(old, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    write_jsonl(tmp_path / "in/requests-c.jsonl", [request_record(9)])
    summary = ingest(db_path, tmp_path / "in")
    assert sorted(hashed) == ["requests-a.jsonl", "requests-b.jsonl", "requests-c.jsonl"]
    assert (summary["files_ingested"], summary["files_skipped"]) == (2, 1)
    assert summary["requests_inserted"] == 2
    hashed.clear()
    third = ingest(db_path, tmp_path / "in")
    assert hashed == [] and third["files_skipped"] == 3 and third["files_ingested"] == 0


def test_the_same_records_under_another_name_add_nothing_and_count_as_duplicates(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    records = [request_record(i) for i in range(4)]
    write_jsonl(tmp_path / "a/requests-1.jsonl", records)
    write_jsonl(tmp_path / "b/requests-copy.jsonl", [*records, request_record(99)])
    ingest(db_path, tmp_path / "a")
    summary = ingest(db_path, tmp_path / "b")
    assert (summary["requests_inserted"], summary["requests_duplicate"]) == (1, 4)
    assert counts(db_path)["requests"] == 5


def test_a_request_id_seen_again_with_other_content_is_a_conflict_both_kept(
    db_path: Path, tmp_path: Path
) -> None:
    """Issue 23: the second record's content was lost as a 'duplicate'. Fixtures: the first
    record, then a file with the same record again (a duplicate) and a changed one (a conflict)."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "issue23"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "requests-first.jsonl").write_bytes((fixtures / "requests-first.jsonl").read_bytes())
    conflict = tmp_path / "b" / "requests-conflict.jsonl"
    conflict.write_bytes((fixtures / "requests-conflict.jsonl").read_bytes())
    ingest(db_path, tmp_path / "a")
    summary = ingest(db_path, tmp_path / "b")
    assert (summary["requests_inserted"], summary["requests_duplicate"], summary["rejected"]) == (0, 1, 1)
    assert query(db_path, "SELECT output FROM requests") == [
        (json.loads((fixtures / "requests-first.jsonl").read_text())["output"],)]
    ((line_no, reason, raw),) = query(db_path, "SELECT line_no, reason, raw FROM rejected_records")
    assert line_no == 2 and reason.startswith("request_id conflict: req-conflict-1 is already stored")
    assert "requests-first.jsonl" in reason
    assert json.loads(raw) == json.loads(conflict.read_text().splitlines()[1])  # nothing lost


def test_stored_ids_are_looked_for_near_the_staged_records_time_span(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    """Ids are looked up among stored records within ID_LOOKUP_MARGIN of the staged batch's time
    span, not in the whole history: a re-delivery (same timestamp) is a duplicate however late it
    comes, a conflict inside the margin is quarantined, one further apart is a record of its
    own. The same for feedback ids."""
    from flywheel.tasks.ingest._stage import ID_LOOKUP_MARGIN

    assert ID_LOOKUP_MARGIN.days == 1
    first = [request_record(1, timestamp="2026-10-01T10:00:00Z"),
             request_record(2, timestamp="2026-10-01T11:00:00Z"),
             request_record(3, timestamp="2026-10-01T12:00:00Z")]
    write_jsonl(tmp_path / "a/requests-1.jsonl", first)
    write_jsonl(tmp_path / "a/feedback-1.jsonl", [feedback_record(1, timestamp="2026-10-01T10:05:00Z")])
    ingest(db_path, tmp_path / "a")
    write_jsonl(tmp_path / "b/requests-2.jsonl", [
        first[0],                                                              # re-delivered
        request_record(2, timestamp="2026-10-02T09:00:00Z", output="other")])  # moved 22 h
    write_jsonl(tmp_path / "b/feedback-2.jsonl", [feedback_record(1, timestamp="2026-10-01T10:05:00Z"),
                                                  feedback_record(2, timestamp="2026-10-01T11:05:00Z")])
    summary = ingest(db_path, tmp_path / "b")
    assert (summary["requests_inserted"], summary["requests_duplicate"], summary["rejected"]) == (0, 1, 1)
    assert (summary["feedback_inserted"], summary["feedback_duplicate"]) == (1, 1)
    ((reason,),) = query(db_path, "SELECT reason FROM rejected_records")
    assert reason.startswith("request_id conflict: req-2 ")
    write_jsonl(tmp_path / "c/requests-3.jsonl", [request_record(3, timestamp="2026-10-03T13:00:00Z")])
    assert ingest(db_path, tmp_path / "c")["requests_inserted"] == 1                 # moved 49 h
    assert query(db_path, "SELECT request_id, count(*) FROM requests GROUP BY ALL ORDER BY 1") == [
        ("req-1", 1), ("req-2", 1), ("req-3", 2)]


def test_a_record_repeated_inside_one_file_is_loaded_once_first_wins(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    write_jsonl(tmp_path / "requests.jsonl",
                [request_record(1, output="first"), request_record(1, output="second")])
    summary = ingest(db_path, tmp_path / "requests.jsonl")
    assert (summary["requests_inserted"], summary["requests_duplicate"]) == (1, 1)
    assert query(db_path, "SELECT output FROM requests") == [("first",)]


def test_feedback_before_its_request_is_kept_and_joined_when_the_request_arrives(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    write_jsonl(tmp_path / "d1/feedback-1.jsonl", [feedback_record(7)])
    assert ingest(db_path, tmp_path / "d1")["feedback_orphaned"] == 1
    write_jsonl(tmp_path / "d2/requests-1.jsonl", [request_record(7)])
    assert ingest(db_path, tmp_path / "d2")["feedback_orphaned"] == 0
    assert query(db_path, "SELECT count(*) FROM feedback JOIN requests USING (request_id)") == [(1,)]


def test_feedback_weeks_after_its_request_is_not_an_orphan(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    """Requests are looked for near their feedback first (ORPHAN_LOOKBACK), then in the whole
    store: late feedback on an old request joins it; feedback on no request waits."""
    write_jsonl(tmp_path / "d1/requests-1.jsonl", [request_record(1, timestamp="2026-09-01T10:00:00Z")])
    ingest(db_path, tmp_path / "d1")
    write_jsonl(tmp_path / "d2/feedback-2.jsonl", [feedback_record(1, timestamp="2026-10-20T10:00:00Z"),
                                                  feedback_record(2, timestamp="2026-10-20T10:00:00Z")])
    assert ingest(db_path, tmp_path / "d2")["feedback_orphaned"] == 1
    assert query(db_path, "SELECT request_id FROM ingest_orphans") == [("req-2",)]


def test_gzip_and_parquet_files_load_and_parquet_bad_rows_are_quarantined(
    db_path: Path, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    with gzip.open(tmp_path / "in/requests-gz.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(request_record(f"gz{i}")) for i in range(3)) + "\nbroken\n")
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 'pq' || i AS request_id, '2026-11-02T10:00:00Z' AS timestamp, 'u' AS user_id, "
        "'gpt-4o-mini' AS model, '{\"q\": 1}'::JSON AS input, "
        "CASE WHEN i = 2 THEN -1.0 ELSE 10.0 END AS latency_ms FROM range(4) t(i)) "
        f"TO '{tmp_path / 'in/requests-pq.parquet'}' (FORMAT parquet)"
    )
    summary = ingest(db_path, tmp_path / "in")
    assert summary["requests_inserted"] == 3 + 3
    rejected = query(db_path, "SELECT file, line_no, reason FROM rejected_records ORDER BY file")
    assert [(Path(r[0]).name, r[1]) for r in rejected] == [("requests-gz.jsonl.gz", 4), ("requests-pq.parquet", 3)]
    assert rejected[1][2].startswith("latency_ms: must be >= 0")


def test_unreadable_files_are_reported_and_the_others_still_load(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    good = [request_record(i) for i in range(3)]
    payload = gzip.compress(("\n".join(json.dumps(r) for r in good) + "\n").encode())
    (tmp_path / "in").mkdir()
    (tmp_path / "in/requests-truncated.jsonl.gz").write_bytes(payload[: len(payload) // 2])
    (tmp_path / "in/requests-corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp_path / "in/requests-dir.jsonl").mkdir()
    write_jsonl(tmp_path / "in/requests-dir.jsonl/requests-inner.jsonl", [request_record("inner")])
    write_jsonl(tmp_path / "in/requests-good.jsonl", good)
    summary = ingest(db_path, tmp_path / "in")
    assert summary["requests_inserted"] == 3
    assert summary["files_failed"] == 3
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["failures"]}
    assert "gzip" in reasons["requests-truncated.jsonl.gz"]
    assert "Parquet" in reasons["requests-corrupt.parquet"]
    assert "folder" in reasons["requests-dir.jsonl"]
    again = ingest(db_path, tmp_path / "in")
    assert again["files_failed"] == 3 and counts(db_path)["ingest_failures"] == 3
    assert query(db_path, "SELECT max(attempts) FROM ingest_failures") == [(2,)]


def test_odd_but_valid_input_loads(db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    big = "x" * 1_000_000
    texts = ["日本語のテキスト", "emoji 🎉👍🏽", "RTL עברית", "zero\u200bwidth", "combining é", "\u0000-free \\ \" '"]
    records = [request_record(f"u{i}", output=t, input={"q": t}) for i, t in enumerate(texts)]
    records.append(request_record("big", output=big))
    write_jsonl(tmp_path / "in/requests-odd.jsonl", records, trailing_newline=False)
    (tmp_path / "in/requests-empty.jsonl").write_text("")
    write_jsonl(tmp_path / "in/requests-blank-lines.jsonl", ["", request_record("blank"), "   ", ""])
    write_jsonl(tmp_path / "in/requests-offsets.jsonl", [  # the real extremes of UTC offsets
        request_record("kiribati", timestamp="2026-11-03T10:00:00+14:00"),
        request_record("baker", timestamp="2026-11-03T10:00:00-12:00")])
    (tmp_path / "in/requests-crlf.jsonl").write_bytes(
        (json.dumps(request_record("crlf1")) + "\r\n" + json.dumps(request_record("crlf2")) + "\r\n").encode())
    summary = ingest(db_path, tmp_path / "in")
    assert summary["rejected"] == 0 and summary["files_failed"] == 0
    assert summary["requests_inserted"] == len(records) + 5
    stored = dict(query(db_path, "SELECT request_id, output FROM requests"))
    assert stored["req-big"] == big
    for i, text in enumerate(texts):
        assert stored[f"req-u{i}"] == text


def test_lines_that_are_not_utf8_are_quarantined(db_path: Path, tmp_path: Path) -> None:
    good = json.dumps(request_record(1)).encode()
    (tmp_path / "requests-latin1.jsonl").write_bytes(good + b"\n" + b'{"x": "caf\xe9"}\n' + json.dumps(request_record(2)).encode())
    summary = ingest(db_path, tmp_path / "requests-latin1.jsonl")
    assert summary["requests_inserted"] == 2
    assert query(db_path, "SELECT line_no, reason FROM rejected_records") == [(2, "not valid UTF-8 (byte 11)")]


def test_raw_text_of_a_rejected_line_is_cut_to_the_configured_bound(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    write_jsonl(tmp_path / "requests.jsonl", ["{" + "y" * 20_000])
    ingest(db_path, tmp_path / "requests.jsonl")
    raw, truncated = query(db_path, "SELECT raw, raw_truncated FROM rejected_records")[0]
    assert len(raw) == load_settings(db=db_path).reject_raw_max_chars and truncated


def test_a_path_given_explicitly_must_exist_and_be_named_like_a_log(tmp_path: Path, db_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        ingest(db_path, tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(UsageError, match="cannot tell what it holds"):
        ingest(db_path, tmp_path / "notes.txt")


def test_a_file_with_n_bad_lines_among_m_loads_m_minus_n(
    db_path: Path, tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    lines: list[Any] = [request_record(i) for i in range(1000)]
    bad_positions = [0, 17, 500, 998]
    for position in bad_positions:
        lines[position] = "garbage line"
    write_jsonl(tmp_path / "requests-m.jsonl", lines)
    summary = ingest(db_path, tmp_path / "requests-m.jsonl")
    assert summary["requests_inserted"] == 1000 - len(bad_positions)
    assert [r[0] for r in query(db_path, "SELECT line_no FROM rejected_records ORDER BY 1")] == [
        p + 1 for p in bad_positions
    ]
