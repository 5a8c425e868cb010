"""Trace-export ingest against native ingest of the same records, measured side by side.

    python bench/trace_ingest.py [--spans 100000] [--traces 20000] [--trace-files 300] [--out bench/out/traces]

Writes (1) an OpenTelemetry Collector-style OTLP/JSON file: ``--spans`` GenAI chat spans with
their messages as JSON strings, each under an HTTP span (skipped by ingest), 500 spans per
ExportTraceServiceRequest line, one evaluation event on every fifth chat span; (2) Langfuse
exports (three generations, one span, one score per trace): ``--traces`` traces as one JSON Lines
file, and ``--trace-files`` traces as one file each; and, for each, (3) the native request and
feedback files holding exactly the records flywheel makes of them. Then, each in a fresh process so that peak RSS is its own,
``flywheel ingest`` of every folder into a new DuckDB file. Prints records/s, the ratio of trace
ingest to native ingest of the same records, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.otlp import BASE_NANOS, event, export_request, span, trace_id  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
db, folder = sys.argv[1], sys.argv[2]
from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths
t0 = time.perf_counter()
s = ingest_paths(load_settings(db=db, project_dir=folder), [folder])
seconds = time.perf_counter() - t0
assert s.files_failed == 0 and s.rejected == 0, (s.failures, s.rejected)
print(json.dumps({{'seconds': seconds, 'records': s.requests_inserted + s.feedback_inserted,
                   'max_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

SYSTEM = "You are a helpful support assistant for Acme. Answer briefly and cite the help page."


def question(i: int) -> str:
    return f"How do I change the billing address on invoice {i}? I moved last month and need it updated."


def answer(i: int) -> str:
    return f"Open Billing → Invoices, pick invoice {i}, then Edit address. Changes apply to future invoices."


def write_otel(folder: Path, n_spans: int, per_line: int = 500) -> None:
    """OTLP/JSON lines and the native files holding the same records."""
    (folder / "otel").mkdir(parents=True)
    (folder / "native").mkdir(parents=True)
    with (folder / "otel/traces.jsonl").open("w") as otlp, \
            (folder / "native/requests-otel.jsonl").open("w") as requests, \
            (folder / "native/feedback-otel.jsonl").open("w") as feedback:
        batch: list[dict[str, Any]] = []
        for i in range(n_spans):
            trace = trace_id(f"bench-{i}")
            messages = [{"role": "system", "parts": [{"type": "text", "content": SYSTEM}]},
                        {"role": "user", "parts": [{"type": "text", "content": question(i)}]}]
            output = [{"role": "assistant", "parts": [{"type": "text", "content": answer(i)}],
                       "finish_reason": "stop"}]
            attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                     "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                     "gen_ai.usage.input_tokens": 60 + i % 40, "gen_ai.usage.output_tokens": 20 + i % 30,
                     "gen_ai.input.messages": messages, "gen_ai.output.messages": output,
                     "user.id": f"user-{i % 5000}", "session.id": f"session-{i % 20000}"}
            events = []
            if i % 5 == 0:
                events = [event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance",
                                                             "gen_ai.evaluation.score.value": 0.75},
                                at_nanos=BASE_NANOS + i)]
            batch += [span(trace, 2 * i + 1, "POST /chat", {"http.request.method": "POST"}),
                      span(trace, 2 * i + 2, "chat gpt-4o-mini", attrs, parent=2 * i + 1, events=events)]
            request_id = f"{trace}-{2 * i + 2:016x}"
            requests.write(json.dumps({
                "request_id": request_id, "timestamp": "2026-05-28T20:26:41Z", "user_id": f"user-{i % 5000}",
                "session_id": f"session-{i % 20000}", "model": "gpt-4o-mini",
                "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question(i)}],
                "output": answer(i), "latency_ms": 250.0, "prompt_tokens": 60 + i % 40,
                "completion_tokens": 20 + i % 30, "metadata": {"source": "otel", "trace_id": trace}}) + "\n")
            if events:
                feedback.write(json.dumps({"feedback_id": f"{request_id}-e1", "request_id": request_id,
                                           "timestamp": "2026-05-28T20:26:42Z", "kind": "rating", "value": 4}) + "\n")
            if len(batch) >= per_line:
                otlp.write(json.dumps(export_request(batch)) + "\n")
                batch = []
        if batch:
            otlp.write(json.dumps(export_request(batch)) + "\n")


def write_langfuse(folder: Path, name: str, n_traces: int, *, one_file: bool) -> None:
    """Langfuse exports (one JSON Lines file, or one file per trace), and the native files
    holding the same records."""
    (folder / name).mkdir(parents=True)
    native = folder / f"native-{name}"
    native.mkdir(parents=True)
    with (native / "requests-langfuse.jsonl").open("w") as requests, \
            (native / "feedback-langfuse.jsonl").open("w") as feedback, \
            (folder / name / "traces.jsonl").open("w") as jsonl:
        for t in range(n_traces):
            trace = trace_id(f"langfuse-{t}")
            observations: list[dict[str, Any]] = [{"id": "root", "type": "SPAN", "name": "agent",
                                                   "startTime": "2026-05-28T20:26:40.000Z",
                                                   "endTime": "2026-05-28T20:26:49.000Z"}]
            for g in range(3):
                i = 3 * t + g
                messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question(i)}]
                observations.append({
                    "id": f"gen{g}", "type": "GENERATION", "name": "chat", "parentObservationId": "root",
                    "startTime": f"2026-05-28T20:26:4{g + 1}.000Z", "endTime": f"2026-05-28T20:26:4{g + 1}.250Z",
                    "model": "gpt-4o-mini", "input": json.dumps(messages),
                    "output": json.dumps({"role": "assistant", "content": answer(i)}),
                    "usageDetails": {"input": 60, "output": 20, "total": 80},
                    "costDetails": {"total": 0.00002}, "metadata": "{}"})
                requests.write(json.dumps({
                    "request_id": f"{trace}-gen{g}", "timestamp": f"2026-05-28T20:26:4{g + 1}Z",
                    "user_id": f"user-{t % 5000}", "model": "gpt-4o-mini", "messages": messages,
                    "output": answer(i), "latency_ms": 250.0, "prompt_tokens": 60, "completion_tokens": 20,
                    "cost_usd": 0.00002, "metadata": {"source": "langfuse", "trace_id": trace}}) + "\n")
            score = {"id": f"score-{t}", "name": "helpfulness", "dataType": "NUMERIC", "value": 0.75,
                     "source": "EVAL", "comment": "fine", "observationId": None,
                     "timestamp": "2026-05-28T20:27:00.000Z"}
            feedback.write(json.dumps({"feedback_id": f"score-{t}", "request_id": f"{trace}-gen2",
                                       "timestamp": "2026-05-28T20:27:00Z", "kind": "rating", "value": 4,
                                       "comment": "helpfulness (eval): fine"}) + "\n")
            export = {"trace": {"id": trace, "name": "support", "userId": f"user-{t % 5000}", "scores": [score]},
                      "observations": observations}
            if one_file:
                jsonl.write(json.dumps(export) + "\n")
            else:
                (folder / name / f"{trace}.json").write_text(json.dumps(export))
    if not one_file:
        (folder / name / "traces.jsonl").unlink()


def measure(folder: Path, work: Path) -> dict[str, float]:
    db = work / f"{folder.name}.duckdb"
    for leftover in (db, Path(str(db) + ".wal")):
        leftover.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO)), str(db), str(folder)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--traces", type=int, default=20_000)
    parser.add_argument("--trace-files", type=int, default=300)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "traces")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    write_otel(args.out, args.spans)
    write_langfuse(args.out, "langfuse-jsonl", args.traces, one_file=True)
    write_langfuse(args.out, "langfuse-files", args.trace_files, one_file=False)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}; load average {os.getloadavg()[0]:.2f}")
    for label, trace_folder, native_folder in (
        (f"OTLP/JSON, {args.spans:,} chat spans, 1 file", "otel", "native"),
        (f"Langfuse, {args.traces:,} traces, 1 JSONL file", "langfuse-jsonl", "native-langfuse-jsonl"),
        (f"Langfuse, {args.trace_files:,} traces, 1 file each", "langfuse-files", "native-langfuse-files"),
    ):
        size = sum(p.stat().st_size for p in (args.out / trace_folder).iterdir()) / 1e6
        native = measure(args.out / native_folder, args.out)
        traces = measure(args.out / trace_folder, args.out)
        assert traces["records"] == native["records"], (traces, native)
        print(f"{label} ({size:,.0f} MB): native files {native['records'] / native['seconds']:>9,.0f} records/s "
              f"({native['seconds']:.2f} s, peak RSS {native['max_rss_mb']:,.0f} MB) | trace export "
              f"{traces['records'] / traces['seconds']:>9,.0f} records/s ({traces['seconds']:.2f} s, peak RSS "
              f"{traces['max_rss_mb']:,.0f} MB) | trace/native time {traces['seconds'] / native['seconds']:.1f}x")


if __name__ == "__main__":
    main()
