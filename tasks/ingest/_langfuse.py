"""Langfuse trace exports → trace_records (converted in Python, one trace at a time).

An export is the JSON Langfuse writes for a trace: ``{"trace": {...}, "observations": [...]}``
(scores and corrections inside the trace or beside it), or the API's bare trace object with its
``observations`` and ``scores``; a file holds one such document, a JSON array of them, or one
per line. Each GENERATION observation becomes a request, each score a feedback record (mapped by
the SQL in trace_stage_feedback.sql); other observations are counted as skipped spans. The
mapping is in docs/trace-ingest.md.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from flywheel.tasks.db import run
from flywheel.tasks.ingest._chat_messages import (
    compact_json,
    input_messages,
    output_messages,
    output_text,
    parse_json_text,
)
from flywheel.tasks.ingest._files import LogFile
from flywheel.tasks.ingest._stage import UnreadableFileError

Record = dict[str, Any]

FLYWHEEL_KEYS = ("experiment", "variant", "prompt_name", "prompt_hash")


def stage_records(con: duckdb.DuckDBPyConnection, log: LogFile) -> None:
    """Fill the ``trace_records`` temp table from one Langfuse export file (streamed: a night's
    traces may come as one JSON Lines file)."""
    with tempfile.TemporaryDirectory(prefix="flywheel-langfuse-") as tmp:
        path = Path(tmp) / "records.jsonl"
        try:
            with _open(log.path) as source, path.open("w", encoding="utf-8") as out:
                for record in convert(source):
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFileError(f"cannot read: {exc}") from None
        run(con, "ingest/trace_records_load", {"path": str(path)})


def convert(lines: Iterable[bytes]) -> Iterator[Record]:
    """Every trace_records row for the lines of one export file."""
    for line_no, raw, document, error in _documents(lines):
        if error is not None:
            yield _row(line_no, raw, "requests", None, error)
            continue
        exports = document if isinstance(document, list) else [document]
        for export in exports:
            parts = _export_parts(export)
            if parts is None:
                yield _row(line_no, raw, "requests", None,
                           'not a Langfuse trace export (expected "trace" and "observations")')
                continue
            yield from _trace_rows(line_no, *parts)


# --- documents --------------------------------------------------------------------------


def _open(path: Path) -> Any:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _documents(lines: Iterable[bytes]) -> Iterator[tuple[int, str, Any, str | None]]:
    """(line, raw text, parsed JSON, error) per document: each non-blank line when the first
    one is a JSON document by itself (JSON Lines, or a file of one line), else the whole file
    as one (pretty-printed) document."""
    iterator = iter(lines)
    head: list[bytes] = []
    for line in iterator:
        head.append(line)
        if line.strip():
            break
    first = _parse_line(len(head), head[-1]) if head and head[-1].strip() else None
    if first is not None and first[3] is None:
        yield first
        for line_no, line in enumerate(iterator, start=len(head) + 1):
            if line.strip():
                yield _parse_line(line_no, line)
        return
    data = b"".join([*head, *iterator])
    if not data.strip():
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield 1, data.decode("utf-8", errors="replace"), None, f"not valid UTF-8 (byte {exc.start + 1})"
        return
    try:
        yield 1, text, json.loads(text), None
    except ValueError as exc:
        yield 1, text, None, f"not valid JSON ({exc})"


def _parse_line(line_no: int, line: bytes) -> tuple[int, str, Any, str | None]:
    try:
        raw = line.rstrip(b"\r\n").decode("utf-8")
    except UnicodeDecodeError as exc:
        return line_no, line.decode("utf-8", errors="replace"), None, f"not valid UTF-8 (byte {exc.start + 1})"
    try:
        return line_no, raw, json.loads(raw), None
    except ValueError:
        return line_no, raw, None, "not valid JSON"


def _export_parts(export: Any) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]] | None:
    """(trace, observations, scores) of one export, or None when it is not one."""
    if not isinstance(export, dict):
        return None
    if isinstance(export.get("trace"), dict):
        trace = export["trace"]
        observations = export.get("observations")
        if not isinstance(observations, list):
            observations = trace.get("observations")
    elif isinstance(export.get("observations"), list) and "id" in export:
        trace, observations = export, export["observations"]
    else:
        return None
    if not isinstance(observations, list):
        return None
    scores: dict[str, dict[str, Any]] = {}
    for source in (export.get("scores"), trace.get("scores"), trace.get("corrections")):
        for score in source if isinstance(source, list) else []:
            if isinstance(score, dict):
                scores.setdefault(str(score.get("id")), score)
    return trace, [o for o in observations if isinstance(o, dict)], list(scores.values())


# --- one trace --------------------------------------------------------------------------


def _trace_rows(
    line_no: int, trace: dict[str, Any], observations: list[dict[str, Any]], scores: list[dict[str, Any]]
) -> list[Record]:
    trace_id = str(trace.get("id") or "")
    trace_meta = _metadata(trace.get("metadata"))
    rows: list[Record] = []
    generations = [o for o in observations if o.get("type") == "GENERATION"]
    for observation in observations:
        if observation.get("type") != "GENERATION":
            rows.append(_row(line_no, None, "skipped_span", None, None))
    for generation in generations:
        rows.append(_generation_row(line_no, trace, trace_id, trace_meta, generation))
    for score in scores:
        rows.append(_score_row(line_no, trace_id, observations, generations, score))
    return rows


def _request_id(trace_id: str, observation_id: Any) -> str:
    return f"{trace_id}-{observation_id}"


def _generation_row(
    line_no: int, trace: dict[str, Any], trace_id: str, trace_meta: dict[str, Any],
    generation: dict[str, Any],
) -> Record:
    meta = _metadata(generation.get("metadata"))
    flywheel = {key: _flywheel_value(key, meta, trace_meta) for key in FLYWHEEL_KEYS}
    recorded_input = parse_json_text(generation.get("input"))
    recorded_output = parse_json_text(generation.get("output"))
    messages = input_messages(recorded_input)
    user_id = trace.get("userId") or (None if flywheel["experiment"] else "anonymous")
    prompt_tokens, completion_tokens = _usage(generation)
    reason = None
    if not trace_id:
        reason = "the trace has no id"
    elif not generation.get("model"):
        reason = "no model"
    elif user_id is None:
        reason = f"in experiment {flywheel['experiment']} but the trace has no userId (the A/B randomization unit)"
    error = None
    if generation.get("level") == "ERROR":
        error = generation.get("statusMessage") or "ERROR"
    record = {
        "request_id": _request_id(trace_id, generation.get("id")),
        "timestamp": generation.get("startTime"),
        "user_id": user_id,
        "session_id": trace.get("sessionId"),
        "experiment": flywheel["experiment"],
        "variant": flywheel["variant"],
        "prompt_name": flywheel["prompt_name"] or generation.get("promptName"),
        "prompt_hash": flywheel["prompt_hash"],
        "model": generation.get("model"),
        "messages": messages,
        "input": None if messages else ({} if recorded_input is None else {"input": recorded_input}),
        "output": output_text(output_messages(recorded_output), recorded_output),
        "latency_ms": _latency_ms(generation.get("startTime"), generation.get("endTime")),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": _cost(generation),
        "error": error,
        "metadata": _drop_none({
            "source": "langfuse",
            "trace_id": trace_id,
            "observation_id": generation.get("id"),
            "parent_observation_id": generation.get("parentObservationId"),
            "observation_name": generation.get("name"),
            "trace_name": trace.get("name"),
            "tags": trace.get("tags") or None,
            "environment": generation.get("environment") or trace.get("environment"),
            "prompt_version": generation.get("promptVersion"),
            "model_parameters": generation.get("modelParameters") or None,
            "usage_details": generation.get("usageDetails") or None,
            "cost_details": generation.get("costDetails") or None,
        }),
    }
    label = f'observation {generation.get("id")} (GENERATION "{generation.get("name") or ""}")'
    return _row(line_no, compact_json(generation), "requests", label, reason, _drop_none(record))


def _score_row(
    line_no: int, trace_id: str, observations: list[dict[str, Any]],
    generations: list[dict[str, Any]], score: dict[str, Any],
) -> Record:
    target, reason = _score_target(trace_id, observations, generations, score.get("observationId"))
    data_type = score.get("dataType") or ("NUMERIC" if isinstance(score.get("value"), int | float) else None)
    value = score.get("value")
    record = {
        "feedback_id": score.get("id"),
        "request_id": target,
        "timestamp": score.get("timestamp") or score.get("createdAt"),
        "user_id": score.get("authorUserId"),
        "score": _drop_none({
            "name": score.get("name"),
            "type": data_type,
            "value": value if isinstance(value, int | float) and not isinstance(value, bool) else None,
            "label": score.get("stringValue"),
            "text": score.get("longStringValue") or None,
            "comment": score.get("comment"),
            "source": score.get("source"),
        }),
    }
    label = f'score {score.get("id")} ("{score.get("name") or ""}")'
    return _row(line_no, compact_json(score), "feedback", label, reason, _drop_none(record))


def _score_target(
    trace_id: str, observations: list[dict[str, Any]], generations: list[dict[str, Any]],
    observation_id: Any,
) -> tuple[str | None, str | None]:
    """The request a score is about: its GENERATION; for another observation, the generation
    that ended last beneath it; for the whole trace, the generation that ended last (among
    those with a recorded output, when any has one: that is the answer a judge scored)."""
    if observation_id is None:
        candidates = generations
    else:
        by_id = {o.get("id"): o for o in observations}
        if observation_id not in by_id or by_id[observation_id].get("type") == "GENERATION":
            return _request_id(trace_id, observation_id), None  # may be in another export
        below = _descendants(observations, observation_id)
        candidates = [g for g in generations if g.get("id") in below]
    if not candidates:
        where = "the trace" if observation_id is None else f"observation {observation_id}"
        return None, f"{where} has no GENERATION to attach the score to"
    candidates = [g for g in candidates if g.get("output") is not None] or candidates
    last = max(candidates, key=lambda g: (g.get("endTime") or g.get("startTime") or "",
                                          g.get("startTime") or "", str(g.get("id"))))
    return _request_id(trace_id, last.get("id")), None


def _descendants(observations: list[dict[str, Any]], root: Any) -> set[Any]:
    children: dict[Any, list[Any]] = {}
    for o in observations:
        children.setdefault(o.get("parentObservationId"), []).append(o.get("id"))
    found: set[Any] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


# --- fields -----------------------------------------------------------------------------


def _usage(generation: dict[str, Any]) -> tuple[int | None, int | None]:
    """Input and output tokens: the sums of the usage details named input* and output* (what
    Langfuse itself reports as inputUsage/outputUsage); None when none is recorded."""
    details = generation.get("usageDetails")
    if isinstance(details, dict) and details:
        return _sum_prefixed(details, "input"), _sum_prefixed(details, "output")
    usage = generation.get("usage")
    if isinstance(usage, dict):
        return _int(usage.get("input", usage.get("promptTokens"))), _int(usage.get("output", usage.get("completionTokens")))
    return _int(generation.get("promptTokens")), _int(generation.get("completionTokens"))


def _sum_prefixed(details: dict[str, Any], prefix: str) -> int | None:
    values = [v for k, v in details.items() if k.startswith(prefix) and isinstance(v, int | float)]
    return int(sum(values)) if values else None


def _cost(generation: dict[str, Any]) -> float | None:
    """USD: costDetails.total, else the sum of costDetails, else a positive totalCost; None when
    Langfuse had no price (flywheel's price table then applies)."""
    details = generation.get("costDetails")
    if isinstance(details, dict) and details:
        if isinstance(details.get("total"), int | float):
            return float(details["total"])
        return float(sum(v for v in details.values() if isinstance(v, int | float)))
    for key in ("calculatedTotalCost", "totalCost"):
        value = generation.get(key)
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None


def _latency_ms(start: Any, end: Any) -> float | None:
    started, ended = _time(start), _time(end)
    if started is None or ended is None:
        return None
    return (ended - started) / timedelta(microseconds=1) / 1000


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time; one without an offset is UTC (as the store reads it)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _metadata(value: Any) -> dict[str, Any]:
    value = parse_json_text(value)
    return value if isinstance(value, dict) else {}


def _flywheel_value(key: str, *metas: dict[str, Any]) -> str | None:
    """``flywheel.<key>`` from an observation's metadata (or its OpenTelemetry attributes),
    else from the trace's."""
    for meta in metas:
        attributes = meta.get("attributes") if isinstance(meta.get("attributes"), dict) else {}
        for source in (meta, attributes):
            value = source.get(f"flywheel.{key}")
            if value not in (None, ""):
                return str(value)
    return None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _row(
    line_no: int, raw: str | None, kind: str, label: str | None, reason: str | None,
    record: Record | None = None,
) -> Record:
    return {"line_no": line_no, "raw": raw, "record_kind": kind, "label": label, "reason": reason,
            "record": record}
