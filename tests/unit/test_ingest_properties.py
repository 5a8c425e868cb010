"""Property: every non-blank input line ends up loaded or quarantined — never both, never neither."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths

pytestmark = pytest.mark.unit

# One folder per example, named by a counter (tempfile's random names inside a Hypothesis test
# draw from the `random` module, which Hypothesis warns about).
_BASE = Path(tempfile.mkdtemp(prefix="flywheel-prop-"))
_EXAMPLE = itertools.count()

text = st.text(min_size=0, max_size=12)
maybe_missing = st.just(...)

request_fields: dict[str, Any] = {
    "timestamp": st.one_of(st.just("2026-11-02T10:00:00Z"), st.just("2026-11-02T10:00:00+05:30"),
                           text, st.integers(), maybe_missing),
    "user_id": st.one_of(text, st.integers(), maybe_missing, st.none()),
    "model": st.one_of(st.just("gpt-4o-mini"), text, maybe_missing),
    "input": st.one_of(st.just({"q": "x"}), st.dictionaries(text, text, max_size=2), text, maybe_missing),
    "messages": st.one_of(maybe_missing, st.just([{"role": "user", "content": "hi"}]),
                          st.lists(st.dictionaries(st.sampled_from(["role", "content"]), text), max_size=2)),
    "latency_ms": st.one_of(maybe_missing, st.floats(allow_nan=False, allow_infinity=False, width=32),
                            st.integers(-5, 10_000), text, st.none()),
    "prompt_tokens": st.one_of(maybe_missing, st.integers(-3, 10**6), text),
    "output": st.one_of(maybe_missing, text, st.none()),
}

request_record = st.fixed_dictionaries({}, optional={k: v for k, v in request_fields.items()})
garbage = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=["Cs"]), max_size=30),
    st.just("{"), st.just("[]"), st.just("null"), st.just('"str"'), st.just("12"),
)


def _line(choice: tuple[str, Any], i: int) -> str:
    kind, value = choice
    if kind == "garbage":
        return value
    record = {k: v for k, v in value.items() if v is not ...}
    record.setdefault("request_id", f"r{i}")
    return json.dumps(record, ensure_ascii=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.tuples(st.just("record"), request_record),
                          st.tuples(st.just("garbage"), garbage)), min_size=1, max_size=25))
def test_every_line_is_loaded_or_quarantined_exactly_once(choices: list[tuple[str, Any]]) -> None:
    lines = [_line(c, i) for i, c in enumerate(choices)]
    tmp = _BASE / str(next(_EXAMPLE))
    tmp.mkdir()
    try:
        path = tmp / "requests-prop.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        db = tmp / "f.duckdb"
        summary = ingest_paths(load_settings(db=db, project_dir=tmp), [path])
        con = duckdb.connect(str(db))
        loaded_ids = {r[0] for r in con.execute("SELECT request_id FROM requests").fetchall()}
        rejected_lines = [r[0] for r in con.execute("SELECT line_no FROM rejected_records").fetchall()]
        con.close()
    finally:
        shutil.rmtree(tmp)
    record_lines = [i + 1 for i, line in enumerate(lines) if line.strip(" \t")]
    assert len(rejected_lines) == len(set(rejected_lines))
    assert set(rejected_lines) <= set(record_lines)
    accounted = summary.requests_inserted + summary.requests_duplicate + summary.rejected
    assert accounted == len(record_lines)
    for line_no in set(record_lines) - set(rejected_lines):
        record = json.loads(lines[line_no - 1])
        assert str(record["request_id"]) in loaded_ids
    for line_no in rejected_lines:
        try:
            record = json.loads(lines[line_no - 1])
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "request_id" in record:
            same_id_loaded_elsewhere = any(
                other != line_no and json.loads(lines[other - 1]).get("request_id") == record["request_id"]
                for other in set(record_lines) - set(rejected_lines)
            )
            assert str(record["request_id"]) not in loaded_ids or same_id_loaded_elsewhere
