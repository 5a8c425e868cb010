"""Building OTLP/JSON trace exports for tests, from the GenAI semantic-conventions examples.

``semconv_examples()`` reads docs/gen-ai/non-normative/examples-llm-calls.md (shared data): each
property table becomes a span (its attributes typed as the table writes them; the linked JSON
blocks become gen_ai.input.messages etc.), an "Event:" table an event of the span before it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES = "telemetry/otel_genai_semconv/docs__gen-ai__non-normative__examples-llm-calls.md"
BASE_NANOS = 1_780_000_000_000_000_000  # 2026-05-28T...Z

_ROW = re.compile(r"^\|\s*(?P<key>[^|]+?)\s*\|\s*(?P<value>.+?)\s*\|\s*$")
_LINK = re.compile(r"\[`[^`]+`\]\(#(?P<anchor>[^)]+)\)")
_BLOCK = re.compile(r'<span id="(?P<anchor>[^"]+)">.*?</span>\s*```json\n(?P<json>.*?)\n```', re.DOTALL)


@dataclass
class ExampleSpan:
    """One property table of the examples document."""

    section: str
    label: str
    name: str
    attributes: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)


def semconv_examples(path: Path) -> list[ExampleSpan]:
    """Every span (with its events) described by the examples document."""
    text = path.read_text(encoding="utf-8")
    blocks = {m["anchor"]: json.loads(m["json"]) for m in _BLOCK.finditer(text)}
    spans: list[ExampleSpan] = []
    section, label, rows = "", "", None
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        elif line.startswith("|"):
            rows = rows if rows is not None else []
            rows.append(line)
            continue
        elif line.strip():
            label = line.strip().strip("*:")
        if rows is not None:
            table = _table(rows, blocks)
            if "Span name" in table or any(k.startswith("gen_ai.") for k in table):
                name = table.pop("Span name", None)
                for key in ("Trace id", "Span id"):
                    table.pop(key, None)
                if label == "Event" and spans:
                    spans[-1].events.append(table)
                else:
                    spans.append(ExampleSpan(section, label, name or "", table))
            rows = None
    return spans


def _table(rows: list[str], blocks: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for row in rows[2:]:  # header and separator first
        match = _ROW.match(row)
        if not match:
            continue
        key = match["key"].strip("`")
        raw = match["value"]
        link = _LINK.search(raw)
        if link:
            values[key] = blocks[link["anchor"]]
        elif raw.startswith("`") and raw.endswith("`"):
            values[key] = json.loads(raw.strip("`"))
    return values


def anyvalue(value: Any, *, structured: bool = False) -> dict[str, Any]:
    """An OTLP/JSON AnyValue. Lists/objects become a JSON string (how SDKs record content on
    spans) unless ``structured``, or unless they are a list of scalars (a string[] attribute)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # protojson writes int64 as a string
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    scalars = isinstance(value, list) and all(not isinstance(v, list | dict) for v in value)
    if isinstance(value, list) and (structured or scalars):
        return {"arrayValue": {"values": [anyvalue(v, structured=structured) for v in value]}}
    if isinstance(value, dict) and structured:
        return {"kvlistValue": {"values": [{"key": k, "value": anyvalue(v, structured=True)}
                                           for k, v in value.items()]}}
    return {"stringValue": json.dumps(value, ensure_ascii=False)}


def attributes(values: dict[str, Any], *, structured: bool = False) -> list[dict[str, Any]]:
    """A dict as OTLP attributes."""
    return [{"key": k, "value": anyvalue(v, structured=structured)} for k, v in values.items()]


def trace_id(seed: str) -> str:
    """A deterministic 32-hex trace id."""
    return hashlib.md5(seed.encode()).hexdigest()


def span(
    trace: str, number: int, name: str, attrs: dict[str, Any], *, events: list[dict[str, Any]] | None = None,
    parent: int | None = None, duration_ms: int = 250, status: dict[str, Any] | None = None,
    structured: bool = False,
) -> dict[str, Any]:
    """An OTLP/JSON span; span ids are the number as 16 hex digits, times from BASE_NANOS."""
    start = BASE_NANOS + number * 1_000_000_000
    out: dict[str, Any] = {
        "traceId": trace, "spanId": f"{number:016x}", "name": name, "kind": 3,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + duration_ms * 1_000_000),
        "attributes": attributes(attrs, structured=structured),
        "events": events or [], "status": status or {},
    }
    if parent is not None:
        out["parentSpanId"] = f"{parent:016x}"
    return out


def event(name: str, attrs: dict[str, Any], *, at_nanos: int = BASE_NANOS, structured: bool = False) -> dict[str, Any]:
    """An OTLP/JSON span event."""
    return {"timeUnixNano": str(at_nanos), "name": name, "attributes": attributes(attrs, structured=structured)}


def export_request(spans: list[dict[str, Any]], service: str = "chat-app") -> dict[str, Any]:
    """One ExportTraceServiceRequest holding the spans."""
    return {"resourceSpans": [{
        "resource": {"attributes": attributes({"service.name": service})},
        "scopeSpans": [{"scope": {"name": "test.instrumentation"}, "spans": spans}],
    }]}
