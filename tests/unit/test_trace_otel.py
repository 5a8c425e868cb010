"""OpenTelemetry OTLP/JSON trace exports: GenAI spans → requests, evaluation events → feedback."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import _otel as otel
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.ingest._chat_messages import input_messages, output_messages, output_text
from tests.conftest import shared_data
from tests.support.otlp import (
    BASE_NANOS,
    EXAMPLES,
    ExampleSpan,
    event,
    export_request,
    semconv_examples,
    span,
    trace_id,
)

pytestmark = pytest.mark.unit

INFERENCE = {"chat", "text_completion", "generate_content"}


def ingest(db_path: Path, *paths: Path, fmt: str = "auto") -> dict[str, Any]:
    return ingest_paths(load_settings(db=db_path, project_dir=db_path.parent), list(paths), fmt).to_dict()


def query(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db_path))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def write_lines(path: Path, requests: list[dict[str, Any] | str]) -> Path:
    """One ExportTraceServiceRequest (or raw text) per line, as the collector's file exporter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in requests) + "\n", "utf-8")
    return path


def examples() -> list[ExampleSpan]:
    return semconv_examples(shared_data(EXAMPLES))


def is_inference(example: ExampleSpan) -> bool:
    operation = example.attributes.get("gen_ai.operation.name")
    return operation in INFERENCE or (operation is None and "gen_ai.provider.name" in example.attributes)


def example_spans(trace: str, *, structured: bool = False) -> list[dict[str, Any]]:
    """The examples as spans 1..n of one trace, each with its own user, under an HTTP span 100."""
    spans = [span(trace, 100, "POST /chat", {"http.request.method": "POST", "url.path": "/chat"},
                  duration_ms=5000)]
    for number, example in enumerate(examples(), start=1):
        events = [event("gen_ai.client.inference.operation.details", attrs, structured=structured)
                  for attrs in example.events]
        attrs = {**example.attributes, "user.id": f"user-{number}", "session.id": "session-1"}
        spans.append(span(trace, number, example.name, attrs, events=events, parent=100,
                          duration_ms=100 + number, structured=structured))
    return spans


def expected_messages(example: ExampleSpan) -> list[dict[str, Any]] | None:
    """What the Python normalizer (which Langfuse exports go through) makes of the example."""
    source = {**{k: v for e in example.events for k, v in e.items()}, **example.attributes}
    messages = input_messages(source.get("gen_ai.input.messages")) or []
    instructions = source.get("gen_ai.system_instructions")
    if instructions:
        messages = [{"role": "system", "content": "".join(p["content"] for p in instructions)}, *messages]
    return messages or None


def expected_output(example: ExampleSpan) -> str | None:
    source = {**{k: v for e in example.events for k, v in e.items()}, **example.attributes}
    recorded = source.get("gen_ai.output.messages")
    return output_text(output_messages(recorded), None) if recorded is not None else None


def test_semconv_examples_ingest_with_the_right_fields(db_path: Path, tmp_path: Path) -> None:
    trace = trace_id("semconv")
    spans = example_spans(trace)
    # three ExportTraceServiceRequests, one per line, as the collector writes them
    path = write_lines(tmp_path / "landing/traces.jsonl",
                       [export_request(spans[i::3]) for i in range(3)])
    summary = ingest(db_path, tmp_path / "landing")

    inference = [(n, ex) for n, ex in enumerate(examples(), start=1) if is_inference(ex)]
    assert len(inference) == 11
    assert summary["requests_inserted"] == len(inference)
    assert summary["rejected"] == 0 and summary["files_failed"] == 0
    assert summary["spans_skipped"] == 3  # two execute_tool spans and the HTTP span
    rows = query(db_path, "SELECT request_id, ts, user_id, session_id, model, messages, output, latency_ms, "
                          "prompt_tokens, completion_tokens, error, metadata, source_file FROM requests")
    by_id = {r[0]: r for r in rows}
    for number, example in inference:
        row = by_id[f"{trace}-{number:016x}"]
        attrs = example.attributes
        assert row[1].timestamp() == pytest.approx((BASE_NANOS + number * 1_000_000_000) / 1e9)
        assert row[2:5] == (f"user-{number}", "session-1", attrs["gen_ai.request.model"])
        messages = json.loads(row[5]) if row[5] is not None else None
        assert messages == expected_messages(example), example.section
        assert row[6] == expected_output(example), example.section
        assert row[7] == 100 + number
        assert (row[8], row[9]) == (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"])
        assert row[10] is None
        metadata = json.loads(row[11])
        assert metadata["response_model"] == attrs["gen_ai.response.model"]
        assert metadata["parent_span_id"] == f"{100:016x}" and metadata["service_name"] == "chat-app"
        assert row[12] == str(path)

    # the first content example, spelled out
    simple = by_id[f"{trace}-{2:016x}"]
    assert json.loads(simple[5]) == [
        {"role": "system", "content": "You are a helpful bot"},
        {"role": "user", "content": "Tell me a joke about OpenTelemetry"},
    ]
    assert simple[6].startswith(" Why did the developer bring OpenTelemetry to the party?")
    # tool calls: the response is the call as JSON; the tool result is a tool message
    span1, span2 = (by_id[f"{trace}-{n:016x}"] for n in (7, 9))
    assert json.loads(span1[6]) == [{"id": "call_VSPygqKTWdrhaFErNvMV18Yl", "name": "get_weather",
                                     "arguments": '{"location":"Paris"}', "type": "function"}]
    assert json.loads(span2[5])[-1] == {"role": "tool", "content": "rainy, 57°F",
                                        "tool_call_id": "call_VSPygqKTWdrhaFErNvMV18Yl"}
    # system instructions come first
    assert json.loads(by_id[f"{trace}-{10:016x}"][5])[0] == {"role": "system", "content": "You must never tell jokes"}
    # content capturing disabled: nothing to read, the request still loads (no template variables)
    assert query(db_path, f"SELECT input::VARCHAR, messages FROM requests WHERE request_id = '{trace}-{1:016x}'") \
        == [("{}", None)]


def test_structured_attribute_values_read_like_json_strings(db_path: Path, tmp_path: Path) -> None:
    as_strings = write_lines(tmp_path / "a/traces.json", [export_request(example_spans(trace_id("a")))])
    structured = write_lines(tmp_path / "b/traces.json",
                             [export_request(example_spans(trace_id("b"), structured=True))])
    assert '"kvlistValue"' in structured.read_text() and '"kvlistValue"' not in as_strings.read_text()
    ingest(db_path, as_strings)
    ingest(db_path, structured)
    rows = query(db_path, "SELECT split_part(request_id, '-', 2), source_file, messages::VARCHAR, output "
                          "FROM requests ORDER BY 1, 2")
    pairs = {}
    for number, _source, messages, output in rows:
        pairs.setdefault(number, []).append((json.loads(messages) if messages else None, output))
    assert len(pairs) == 11
    for number, (first, second) in pairs.items():
        assert first == second, number


def test_evaluation_events_and_feedback_events_become_feedback(db_path: Path, tmp_path: Path) -> None:
    trace = trace_id("feedback")
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.id": "chatcmpl-1", "user.id": "u1"}
    spans = [
        span(trace, 1, "chat gpt-4o-mini", chat, events=[
            event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "Relevance",
                                               "gen_ai.evaluation.score.value": 0.9,
                                               "gen_ai.evaluation.explanation": "On topic."},
                  at_nanos=BASE_NANOS + 5_000_000_000),
            event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "IntentResolution",
                                               "gen_ai.evaluation.score.label": "pass"}),
            event("flywheel.feedback", {"flywheel.feedback.kind": "correction",
                                        "flywheel.feedback.corrected_output": "Better answer.",
                                        "flywheel.feedback.id": "fb-own-id"}),
            event("flywheel.feedback", {"flywheel.feedback.kind": "thumbs", "flywheel.feedback.value": "down"}),
        ]),
        # an evaluator's own span, child of the chat span
        span(trace, 2, "evaluate", {"evaluator": "judge"}, parent=1, events=[
            event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "toxicity",
                                               "gen_ai.evaluation.score.value": 0.25})]),
        # elsewhere in the trace, naming the completion by gen_ai.response.id
        span(trace, 3, "batch-eval", {}, events=[
            event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "Coherence",
                                               "gen_ai.evaluation.score.value": 1.0,
                                               "gen_ai.response.id": "chatcmpl-1"}),
            # names nothing: quarantined, not guessed
            event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "Fluency",
                                               "gen_ai.evaluation.score.value": 1.0})]),
    ]
    write_lines(tmp_path / "t.jsonl", [export_request(spans)])
    summary = ingest(db_path, tmp_path / "t.jsonl")
    assert (summary["requests_inserted"], summary["feedback_inserted"], summary["rejected"]) == (1, 6, 1)
    target = f"{trace}-{1:016x}"
    rows = query(db_path, "SELECT feedback_id, request_id, ts, kind, value, corrected_output, comment, user_id "
                          "FROM feedback ORDER BY feedback_id")
    found = {r[0]: r[1:] for r in rows}
    assert {r[0] for r in found.values()} == {target}
    relevance = found[f"{target}-e1"]
    assert relevance[2:5] == ("rating", pytest.approx(1 + 4 * 0.9), None)  # 0–1, higher is better
    assert relevance[5] == "Relevance (eval): On topic."
    assert relevance[1].timestamp() == pytest.approx((BASE_NANOS + 5_000_000_000) / 1e9)
    assert found[f"{target}-e2"][2:4] == ("thumbs", 1.0)
    assert found["fb-own-id"][2:4] == ("correction", None) and found["fb-own-id"][4] == "Better answer."
    assert found[f"{target}-e4"][2:4] == ("thumbs", 0.0) and found[f"{target}-e4"][6] == "u1"
    assert found[f"{trace}-{2:016x}-e1"][2:4] == ("rating", pytest.approx(5 - 4 * 0.25))  # toxicity: lower is better
    assert found[f"{trace}-{3:016x}-e1"][2:4] == ("rating", 5.0)
    rejected = query(db_path, "SELECT line_no, kind, reason FROM rejected_records")
    assert rejected == [(1, "feedback", f"span {3:016x} event 2 (gen_ai.evaluation.result): not on a GenAI span, "
                         "and names none (set gen_ai.response.id, or record the event on the span or a child of it)")]


def test_malformed_spans_and_lines_are_quarantined_with_their_line(db_path: Path, tmp_path: Path) -> None:
    trace = trace_id("bad")
    good = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "user.id": "u"}
    no_model = {"gen_ai.operation.name": "chat", "user.id": "u"}
    no_user = {**good, "user.id": None, "flywheel.experiment": "tone-test", "flywheel.variant": "a"}
    no_user = {k: v for k, v in no_user.items() if v is not None}
    bad_hash = {**good, "flywheel.prompt_hash": "not-hex"}
    path = write_lines(tmp_path / "t.jsonl", [
        export_request([span(trace, 1, "chat gpt-4o", good)]),
        "{not json",
        json.dumps({"resourceLogs": []}),
        export_request([span(trace, 2, "chat", no_model), span(trace, 3, "chat gpt-4o", good)]),
        export_request([span(trace, 4, "chat gpt-4o", no_user), span(trace, 5, "chat gpt-4o", bad_hash)]),
    ])
    summary = ingest(db_path, path)
    assert (summary["requests_inserted"], summary["rejected"]) == (2, 5)
    assert query(db_path, "SELECT line_no, kind, reason FROM rejected_records ORDER BY line_no, reason") == [
        (2, "requests", "not valid JSON"),
        (3, "requests", "not an OTLP/JSON ExportTraceServiceRequest (no resourceSpans array)"),
        (4, "requests", f'span {2:016x} "chat": no gen_ai.request.model or gen_ai.response.model attribute'),
        (5, "requests", f'span {4:016x} "chat gpt-4o": in experiment tone-test but has no user.id attribute '
                        "(the A/B randomization unit)"),
        (5, "requests", f'span {5:016x} "chat gpt-4o": prompt_hash: expected 12 to 64 hex characters, got not-hex'),
    ]
    raw = query(db_path, "SELECT raw FROM rejected_records WHERE line_no = 4")[0][0]
    assert json.loads(raw)["spanId"] == f"{2:016x}"  # the span itself, as recorded
    ledger = query(db_path, "SELECT kind, format, rows_read, inserted, rejected FROM ingest_ledger")
    assert ledger == [("otel", "otlp-json", 7, 2, 5)]


def test_older_conventions_are_read(db_path: Path, tmp_path: Path) -> None:
    trace = trace_id("old")
    indexed = {"gen_ai.system": "openai", "llm.request.type": "chat", "gen_ai.request.model": "gpt-3.5-turbo",
               "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Be brief.",
               "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": "Hi",
               "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Hello!",
               "gen_ai.usage.prompt_tokens": 9, "gen_ai.usage.completion_tokens": 2}
    as_json = {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
               "gen_ai.prompt": json.dumps([{"role": "user", "content": "Ping"}]),
               "gen_ai.completion": json.dumps([{"role": "assistant", "content": "Pong"}])}
    on_events = {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}
    embedding = {"gen_ai.system": "openai", "llm.request.type": "embedding", "gen_ai.request.model": "e"}
    write_lines(tmp_path / "old.jsonl", [export_request([
        span(trace, 1, "openai.chat", indexed),
        span(trace, 2, "openai.chat", as_json),
        span(trace, 3, "openai.chat", on_events, events=[
            event("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps([{"role": "user", "content": "Q?"}])}),
            event("gen_ai.content.completion", {"gen_ai.completion": json.dumps([{"role": "assistant", "content": "A."}])}),
        ]),
        span(trace, 4, "openai.embeddings", embedding),
    ])])
    summary = ingest(db_path, tmp_path / "old.jsonl")
    assert (summary["requests_inserted"], summary["spans_skipped"], summary["rejected"]) == (3, 1, 0)
    rows = query(db_path, "SELECT messages, output, prompt_tokens, completion_tokens, user_id FROM requests ORDER BY request_id")
    assert [(json.loads(r[0]), r[1]) for r in rows] == [
        ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "Hello!"),
        ([{"role": "user", "content": "Ping"}], "Pong"),
        ([{"role": "user", "content": "Q?"}], "A."),
    ]
    assert rows[0][2:] == (9, 2, "anonymous")  # no user.id and no experiment: documented placeholder


def test_a_file_is_converted_in_slices_and_events_resolve_across_them(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(otel, "SLICE_BYTES", 1)  # every line a slice of its own
    trace = trace_id("slices")
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.response.id": "resp-1"}
    names_it = event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "q", "gen_ai.evaluation.score.value": 1.0,
                                                  "gen_ai.response.id": "resp-1"})
    write_lines(tmp_path / "t.jsonl", [
        export_request([span(trace, 1, "chat", chat)]),
        "not json",
        export_request([span(trace, 2, "judge", {}, events=[names_it])]),
        export_request([span(trace, 3, "chat", {**chat, "gen_ai.response.id": "resp-3"}), span(trace, 4, "x", {})]),
    ])
    summary = ingest(db_path, tmp_path / "t.jsonl")
    assert (summary["requests_inserted"], summary["feedback_inserted"], summary["spans_skipped"],
            summary["rejected"]) == (2, 1, 2, 1)
    assert query(db_path, "SELECT request_id FROM feedback") == [(f"{trace}-{1:016x}",)]
    assert query(db_path, "SELECT line_no, reason FROM rejected_records") == [(2, "not valid JSON")]


def test_error_status_becomes_the_request_error(db_path: Path, tmp_path: Path) -> None:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "error.type": "429"}
    write_lines(tmp_path / "t.json", [export_request([
        span(trace_id("err"), 1, "chat gpt-4o", attrs, status={"code": 2, "message": "rate limited"}),
        span(trace_id("err"), 2, "chat gpt-4o", attrs, status={"code": "STATUS_CODE_ERROR"}),
    ])])
    ingest(db_path, tmp_path / "t.json")
    assert query(db_path, "SELECT error FROM requests ORDER BY request_id") == [("rate limited",), ("429",)]


def test_reingesting_adds_nothing_and_a_copy_counts_as_duplicates(db_path: Path, tmp_path: Path) -> None:
    trace = trace_id("again")
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    evaluation = event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "q", "gen_ai.evaluation.score.value": 1})
    document = export_request([span(trace, 1, "chat", chat, events=[evaluation]), span(trace, 2, "other", {})])
    landing = tmp_path / "landing"
    write_lines(landing / "a.jsonl", [document])
    first = ingest(db_path, landing)
    assert (first["requests_inserted"], first["feedback_inserted"], first["spans_skipped"]) == (1, 1, 1)
    again = ingest(db_path, landing)
    assert (again["files_skipped"], again["requests_inserted"], again["feedback_inserted"]) == (1, 0, 0)
    # the same content pretty-printed, gzipped, under another name: duplicates only
    with gzip.open(landing / "copy.json.gz", "wt", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
    copy = ingest(db_path, landing)
    assert (copy["files_ingested"], copy["requests_duplicate"], copy["feedback_duplicate"]) == (1, 1, 1)
    assert query(db_path, "SELECT count(*) FROM requests")[0][0] == 1
    assert query(db_path, "SELECT count(*) FROM ingest_ledger")[0][0] == 2


def test_a_file_not_utf8_quarantines_only_the_bad_line(db_path: Path, tmp_path: Path) -> None:
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    path = tmp_path / "t.jsonl"
    good = json.dumps(export_request([span(trace_id("u"), 1, "chat", chat)])).encode()
    path.write_bytes(good + b"\n" + b'{"resourceSpans": "\xff"}\n')
    summary = ingest(db_path, path)
    assert (summary["requests_inserted"], summary["rejected"]) == (1, 1)
    assert query(db_path, "SELECT line_no, reason FROM rejected_records") == [(2, "not valid UTF-8 (byte 20)")]


def test_format_option_and_detection(db_path: Path, tmp_path: Path) -> None:
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    document = export_request([span(trace_id("fmt"), 1, "chat", chat)])
    write_lines(tmp_path / "in/export.ndjson", [document])
    (tmp_path / "in/notes.json").write_text('{"hello": "world"}')  # not a trace export: not read
    shutil.copy(tmp_path / "in/export.ndjson", tmp_path / "in/export-copy.txt")  # not a JSON name
    assert ingest(db_path, tmp_path / "in", fmt="native")["files_seen"] == 0
    summary = ingest(db_path, tmp_path / "in")
    assert (summary["files_seen"], summary["requests_inserted"]) == (1, 1)
    forced = ingest(db_path, tmp_path / "in/notes.json", fmt="otel")
    assert forced["rejected"] == 1
