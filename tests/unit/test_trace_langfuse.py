"""Langfuse trace exports: generations → requests, scores → feedback, messages as Langfuse renders them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.ingest._detect import sniff
from tests.conftest import shared_data

pytestmark = pytest.mark.unit

TRACES = "telemetry/langfuse_framework_traces"


def ingest(db_path: Path, *paths: Path, fmt: str = "auto", project_dir: Path | None = None) -> dict[str, Any]:
    settings = load_settings(db=db_path, project_dir=project_dir or db_path.parent)
    return ingest_paths(settings, list(paths), fmt).to_dict()


def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db_path))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def exports() -> list[tuple[Path, dict[str, Any]]]:
    folder = shared_data(TRACES)
    return [(p, json.loads(p.read_text("utf-8"))) for p in sorted(folder.glob("*.trace.json"))]


def generations(export: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in export["observations"] if o["type"] == "GENERATION"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """All twenty exports ingested once (from the shared folder, chatml files beside them)."""
    db_path = tmp_path_factory.mktemp("langfuse") / "flywheel.duckdb"
    yield db_path, ingest(db_path, shared_data(TRACES))


def test_all_twenty_exports_ingest_and_every_generation_becomes_one_request(
    loaded: tuple[Path, dict[str, Any]],
) -> None:
    db_path, summary = loaded
    files = exports()
    assert len(files) == 20
    assert (summary["files_seen"], summary["files_ingested"], summary["files_failed"]) == (20, 20, 0)
    assert summary["rejected"] == 0
    occurrences = [(e["trace"]["id"], g) for _, e in files for g in generations(e)]
    assert len(occurrences) == 42
    expected = {f"{trace}-{g['id']}": g for trace, g in occurrences}
    # pydantic-ai-2025-06-06 and pydantic-ai-tools-2025-06-06 hold the same trace: its one
    # generation loads once and is a duplicate the second time
    assert len(expected) == 41
    assert (summary["requests_inserted"], summary["requests_duplicate"]) == (41, 1)
    non_generations = sum(1 for _, e in files for o in e["observations"] if o["type"] != "GENERATION")
    assert summary["spans_skipped"] == non_generations == 96

    rows = query(db_path, "SELECT request_id, epoch_ms(ts), model, prompt_tokens, completion_tokens, "
                          "latency_ms, cost_usd, cost_estimated FROM requests")
    assert {r[0] for r in rows} == set(expected)
    for request_id, ts_ms, model, prompt_tokens, completion_tokens, latency, cost, estimated in rows:
        g = expected[request_id]
        start, end = np.datetime64(g["startTime"].rstrip("Z")), np.datetime64(g["endTime"].rstrip("Z"))
        assert ts_ms == (start - np.datetime64("1970-01-01T00:00:00")) / np.timedelta64(1, "ms")
        assert model == g["model"]
        assert latency == pytest.approx((end - start) / np.timedelta64(1, "ms"))
        # Langfuse's own totals; it writes 0 where no usage was recorded, flywheel NULL
        keys = g["usageDetails"].keys()
        assert prompt_tokens == (g["inputUsage"] if any(k.startswith("input") for k in keys) else None)
        assert completion_tokens == (g["outputUsage"] if any(k.startswith("output") for k in keys) else None)
        assert cost == (pytest.approx(g["costDetails"]["total"]) if g["costDetails"] else None)
        assert estimated is False
    assert query(db_path, "SELECT kind, format, count(*) FROM ingest_ledger GROUP BY ALL") == [
        ("langfuse", "langfuse-json", 20)]


# --- messages against Langfuse's own rendering -----------------------------------------------

NATIVE_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
ROLE_ALIASES = {"model": "assistant", "ai": "assistant", "human": "user"}


def rendered(message: dict[str, Any]) -> dict[str, Any]:
    """A message of a *.chatml.json rendering in flywheel's message form (docs/trace-ingest.md):
    native role names; text parts as one text; Anthropic tool_use blocks as tool calls; empty
    content left out; Langfuse's extra keys (tools, json, type) dropped."""
    role = message["role"]
    out: dict[str, Any] = {"role": role.lower() if role.lower() in NATIVE_ROLES else ROLE_ALIASES.get(role.lower(), "tool")}
    if out["role"] == "tool" and role.lower() not in NATIVE_ROLES:
        out["name"] = role
    content, calls = message.get("content"), list(message.get("tool_calls") or [])
    if isinstance(content, list) and all(p.get("type") in ("text", "tool_use") for p in content):
        calls += [{"id": p["id"], "name": p["name"], "type": "function",
                   "arguments": json.dumps(p["input"], separators=(",", ":"), ensure_ascii=False)}
                  for p in content if p["type"] == "tool_use"]
        content = "".join(p["text"] for p in content if p["type"] == "text") or None
    if content not in (None, ""):
        out["content"] = content
    if calls:
        out["tool_calls"] = calls
    if message.get("tool_call_id"):
        out["tool_call_id"] = message["tool_call_id"]
    return out


def test_extracted_messages_agree_with_the_chatml_renderings(loaded: tuple[Path, dict[str, Any]]) -> None:
    db_path, _ = loaded
    compared_inputs = compared_outputs = 0
    for path, export in exports():
        rendering = json.loads(path.with_name(path.name.replace(".trace.json", ".chatml.json")).read_text("utf-8"))
        for g in generations(export):
            request_id = f"{export['trace']['id']}-{g['id']}"
            messages, output = query(db_path, "SELECT messages, output FROM requests WHERE request_id = ?",
                                     [request_id])[0]
            ours = json.loads(messages) if messages is not None else None
            chatml = rendering.get(g["id"], {})
            if chatml.get("input", {}).get("success"):
                # messages Langfuse renders without a role (tool definitions, raw JSON) are not messages
                expected = [rendered(m) for m in chatml["input"]["data"] if isinstance(m.get("role"), str)]
                assert (ours or []) == expected, f"{path.name} {g['id']}"
                compared_inputs += 1
            else:  # Langfuse renders no messages: the input is kept whole instead
                assert ours is None or path.name.startswith("claude-agent"), f"{path.name} {g['id']}"
            if chatml.get("output", {}).get("success"):
                expected = [rendered(m) for m in chatml["output"]["data"] if isinstance(m.get("role"), str)]
                if not expected:
                    continue
                text = next((m["content"] for m in expected if isinstance(m.get("content"), str)), None)
                if text is not None:
                    assert output == text, f"{path.name} {g['id']}"
                else:  # a response of tool calls only is kept as the calls' JSON
                    assert json.loads(output) == [c for m in expected for c in m.get("tool_calls", [])]
                compared_outputs += 1
    assert (compared_inputs, compared_outputs) == (31, 30)


def test_inputs_langfuse_cannot_render_are_kept_whole(loaded: tuple[Path, dict[str, Any]]) -> None:
    db_path, _ = loaded
    rows = dict(query(db_path, "SELECT split_part(request_id, '-', 2), input FROM requests WHERE messages IS NULL"))
    assert json.loads(rows["83517f9062f5ada4"]) == {  # autogen: a "role: text" transcript
        "input": "system: You are a helpful AI assistant. Solve tasks using your tools. Reply with "
                 "TERMINATE when the task has been completed.\nuser: Say 'Hello World!'"}
    assert json.loads(rows["7ca8b22f6628d0c7"]) == {"input": {"args": ["What is Langfuse?"]}}  # llamaindex
    assert json.loads(rows["b7b9a79830fe5c6b"]) == {}  # beeai: nothing was recorded


# --- scores and corrections ---------------------------------------------------------------


def test_both_human_corrections_become_corrections(tmp_path: Path, loaded: tuple[Path, dict[str, Any]]) -> None:
    corrected = [(p, e) for p, e in exports() if e["trace"].get("corrections")]
    assert [p.name for p, _ in corrected] == ["pydantic-ai-2025-06-06.trace.json",
                                              "pydantic-ai-tools-2025-06-06.trace.json"]
    for number, (path, export) in enumerate(corrected):
        db_path = tmp_path / f"{number}.duckdb"
        ingest(db_path, path)
        (correction,) = export["trace"]["corrections"]
        (generation,) = generations(export)
        assert query(db_path, "SELECT feedback_id, request_id, kind, corrected_output FROM feedback "
                              "WHERE kind = 'correction'") == [
            (correction["id"], f"{export['trace']['id']}-{generation['id']}", "correction",
             correction["longStringValue"])]
    # both files carry the same correction (same id): together it is stored once, then a duplicate
    db_path, summary = loaded
    assert query(db_path, "SELECT count(*) FROM feedback WHERE kind = 'correction'") == [(1,)]
    assert summary["feedback_duplicate"] == 1


def test_judge_scores_become_ratings_by_the_documented_mapping(loaded: tuple[Path, dict[str, Any]]) -> None:
    db_path, summary = loaded
    scores = [(e, s) for _, e in exports() for s in e["trace"].get("scores", [])]
    assert summary["feedback_inserted"] == len(scores) + 1 == 25  # + the correction
    rows = {r[0]: r[1:] for r in query(db_path, "SELECT feedback_id, request_id, kind, value, comment FROM feedback")}
    for export, score in scores:
        request_id, kind, value, comment = rows[score["id"]]
        lower_is_better = score["name"] in ("toxicity", "hallucination")
        assert kind == "rating"
        assert value == pytest.approx(5 - 4 * score["value"] if lower_is_better else 1 + 4 * score["value"])
        assert comment == f"{score['name']} (eval): {score['comment']}"
        # a trace-level score is about the generation that answered last
        answered = [g for g in generations(export) if g["output"] is not None] or generations(export)
        last = max(answered, key=lambda g: (g["endTime"], g["startTime"]))
        assert request_id == f"{export['trace']['id']}-{last['id']}"


def export_doc(trace_id: str, observations: list[dict[str, Any]], scores: list[dict[str, Any]],
               **trace: Any) -> dict[str, Any]:
    return {"trace": {"id": trace_id, "name": "t", "timestamp": "2026-01-05T10:00:00.000Z", **trace,
                      "scores": scores},
            "observations": observations}


def generation(obs_id: str, *, model: str | None = "gpt-4o-mini", start: str = "2026-01-05T10:00:00.000Z",
               end: str = "2026-01-05T10:00:01.500Z", **fields: Any) -> dict[str, Any]:
    return {"id": obs_id, "type": "GENERATION", "name": "chat", "startTime": start, "endTime": end,
            "model": model, "input": [{"role": "user", "content": "Hi"}], "output": "Hello",
            "usageDetails": {"input": 3, "output": 1}, "costDetails": {}, "metadata": "{}",
            "parentObservationId": None, **fields}


def score(score_id: str, name: str, data_type: str, value: float | None = None, *,
          observation: str | None = None, string_value: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": score_id, "name": name, "dataType": data_type, "value": value, "stringValue": string_value,
            "observationId": observation, "source": "API", "comment": None,
            "timestamp": "2026-01-05T11:00:00.000Z", **fields}


def test_score_types_and_configured_modes(db_path: Path, tmp_path: Path) -> None:
    (tmp_path / "flywheel.toml").write_text(
        '[trace_scores]\n"Stars" = "rating"\n"user-feedback" = "thumbs"\n"judge-bias" = "skip"\n'
        '"Is_Toxic" = "unit_inverted"\n')
    doc = export_doc("t1", [generation("g1"), generation("g2", end="2026-01-05T10:00:02.000Z")], [
        score("s1", "helpfulness", "NUMERIC", 0.75, observation="g1"),
        score("s2", "Stars", "NUMERIC", 4),
        score("s3", "user-feedback", "NUMERIC", -1),
        score("s4", "user-feedback", "NUMERIC", 1),
        score("s5", "thumbs", "BOOLEAN", 1, string_value="True"),
        score("s6", "is_toxic", "BOOLEAN", 1, string_value="True"),
        score("s7", "verdict", "CATEGORICAL", string_value="incorrect"),
        score("s8", "tone", "CATEGORICAL", string_value="formal", comment="a bit stiff"),
        score("s9", "judge-bias", "NUMERIC", 0.3),
        score("s10", "helpfulness", "NUMERIC", 7),  # outside 0–1: quarantined, with the fix in the reason
    ])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc))
    summary = ingest(db_path, path, project_dir=tmp_path)
    assert (summary["feedback_inserted"], summary["scores_skipped"], summary["rejected"]) == (8, 1, 1)
    rows = {r[0]: r[1:] for r in query(db_path, "SELECT feedback_id, request_id, kind, value, comment FROM feedback")}
    assert rows["s1"] == ("t1-g1", "rating", 4.0, "helpfulness (api)")
    assert rows["s2"] == ("t1-g2", "rating", 4.0, "Stars (api)")  # trace-level: the last generation
    assert rows["s3"][1:3] == ("thumbs", 0.0) and rows["s4"][1:3] == ("thumbs", 1.0)
    assert rows["s5"][1:3] == ("thumbs", 1.0)
    assert rows["s6"][1:3] == ("thumbs", 0.0)  # toxic: lower is better
    assert rows["s7"][1:3] == ("thumbs", 0.0)
    assert rows["s8"][1:] == ("comment", None, "tone = formal (api): a bit stiff")
    assert "s9" not in rows
    assert query(db_path, "SELECT line_no, kind, reason FROM rejected_records") == [
        (1, "feedback", 'score s10 ("helpfulness"): score helpfulness = 7.0 is outside 0–1; set its scale '
                        'in flywheel.toml [trace_scores], e.g. "helpfulness" = "rating"')]


def test_bad_records_are_quarantined_and_the_rest_loads(db_path: Path, tmp_path: Path) -> None:
    lines = [
        json.dumps(export_doc("t1", [generation("g1"), generation("g2", model=None)], [])),
        "{not json",
        json.dumps({"id": "t2", "name": "no observations here"}),
        json.dumps(export_doc("t3", [{"id": "s", "type": "SPAN", "name": "root"}],
                              [score("sc", "quality", "NUMERIC", 1.0)])),
        json.dumps(export_doc("t4", [generation("g4", metadata=json.dumps(
            {"attributes": {"flywheel.experiment": "tone-test", "flywheel.variant": "friendly"}}))], [])),
    ]
    path = tmp_path / "exports.jsonl"
    path.write_text("\n".join(lines) + "\n")
    summary = ingest(db_path, path, fmt="langfuse")
    assert (summary["requests_inserted"], summary["rejected"], summary["spans_skipped"]) == (1, 5, 1)
    assert query(db_path, "SELECT line_no, kind, reason FROM rejected_records ORDER BY line_no") == [
        (1, "requests", 'observation g2 (GENERATION "chat"): no model'),
        (2, "requests", "not valid JSON"),
        (3, "requests", 'not a Langfuse trace export (expected "trace" and "observations")'),
        (4, "feedback", 'score sc ("quality"): the trace has no GENERATION to attach the score to'),
        (5, "requests", 'observation g4 (GENERATION "chat"): in experiment tone-test but the trace has '
                        "no userId (the A/B randomization unit)"),
    ]
    assert json.loads(query(db_path, "SELECT raw FROM rejected_records WHERE line_no = 1")[0][0])["id"] == "g2"


def test_the_api_trace_object_and_flywheel_metadata(db_path: Path, tmp_path: Path) -> None:
    bare = {"id": "t9", "userId": "u-7", "sessionId": "s-7", "htmlPath": "/project/p/traces/t9",
            "metadata": {"flywheel.experiment": "tone-test", "flywheel.variant": "friendly"},
            "observations": [generation("g9", metadata={"flywheel.prompt_hash": "ABCDEF0123456789",
                                                        "flywheel.prompt_name": "support"})],
            "scores": [score("s9", "user-feedback", "BOOLEAN", 0, string_value="False")]}
    path = tmp_path / "api-trace.json"
    path.write_text(json.dumps(bare))
    assert sniff(path.read_bytes()) == "langfuse"
    summary = ingest(db_path, path)
    assert (summary["requests_inserted"], summary["feedback_inserted"]) == (1, 1)
    assert query(db_path, "SELECT user_id, session_id, experiment, variant, prompt_name, prompt_hash, messages, "
                          "output, latency_ms FROM requests") == [
        ("u-7", "s-7", "tone-test", "friendly", "support", "abcdef0123456789",
         '[{"role":"user","content":"Hi"}]', "Hello", 1500.0)]


def test_a_trace_object_with_a_large_input_first_is_still_recognised(db_path: Path, tmp_path: Path) -> None:
    bare = {"id": "t10", "input": "x" * 100_000, "observations": [generation("g10")], "scores": []}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(bare))
    assert sniff(path.read_bytes()[:65536]) is None  # the first bytes alone do not tell
    assert ingest(db_path, tmp_path)["requests_inserted"] == 1


def test_reingesting_adds_nothing_and_copies_are_duplicates(
    tmp_path: Path, loaded: tuple[Path, dict[str, Any]]
) -> None:
    db_path, first = loaded
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db_path, copy)  # leave the module's database as it was
    again = ingest(copy, shared_data(TRACES))
    assert (again["files_skipped"], again["files_ingested"], again["requests_inserted"],
            again["feedback_inserted"]) == (20, 0, 0, 0)
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    for path, _ in exports():
        (renamed / f"export-{path.name}").write_bytes(path.read_bytes() + b"\n")  # other name, other bytes
    dup = ingest(copy, renamed)
    assert (dup["files_ingested"], dup["requests_inserted"], dup["feedback_inserted"]) == (20, 0, 0)
    assert dup["requests_duplicate"] == first["requests_inserted"] + first["requests_duplicate"]
    assert query(copy, "SELECT count(*) FROM requests") == query(db_path, "SELECT count(*) FROM requests")


def test_detection_by_content() -> None:
    for path, _ in exports():
        assert sniff(path.read_bytes()[:65536]) == "langfuse", path.name
        assert sniff(path.with_name(path.name.replace(".trace.", ".chatml.")).read_bytes()) is None
    assert sniff(b'  {"resourceSpans": [') == "otel"
    assert sniff(b'[{"trace": {}}]') == "langfuse"
    assert sniff(b'{"request_id": "r1"}') is None
    assert sniff(b"not json") is None
