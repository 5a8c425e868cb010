"""Offline-eval throughput: 1,000 cases × 2 prompt versions against the demo model with 100 ms
latency per call, at concurrency 32, through the real path (the offline-eval flow: plan, cache
lookup, fan-out on the task runner, AsyncOpenAI over loopback HTTP, scoring, DuckDB writes).

Baselines measured in the same run: the ideal wall time (calls × latency / concurrency) and the
bare caller (``run_calls`` on the same calls, no flow, no DuckDB). Then the cached rerun.

    python bench/evals.py [--cases 1000] [--latency-ms 100] [--concurrency 32]

The demo model runs in its own process so that the server does not share the GIL with the
client. Prints a Markdown block for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

# the same eval cases as the whole-command bench (this folder is on sys.path when run as a script)
from first_minutes import support_cases as _cases  # noqa: E402

from flywheel.tasks.config import load_settings  # noqa: E402
from flywheel.tasks.db import connect  # noqa: E402
from flywheel.tasks.evals import (  # noqa: E402
    CallSpec,
    Endpoint,
    call_options,
    run_calls,
)
from flywheel.tasks.evals._cache import cache_key  # noqa: E402
from flywheel.tasks.registry import (  # noqa: E402
    register_version,
    render_messages,
)


def _start_server(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "flywheel.tasks.demo_model", "--port", "0", "--latency-ms", str(latency_ms)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    line = process.stdout.readline() if process.stdout else ""
    return process, line.split()[-1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flywheel.flows.offline_eval import run_offline_eval

    server, base_url = _start_server(args.latency_ms)
    os.environ["OPENAI_BASE_URL"] = base_url
    os.environ.setdefault("OPENAI_API_KEY", "bench-key")
    work = Path(tempfile.mkdtemp(prefix="flywheel-bench-evals-"))
    try:
        evalset = work / "evalsets" / "support.jsonl"
        evalset.parent.mkdir(parents=True)
        cases = _cases(args.cases)
        evalset.write_text("".join(json.dumps(c) + "\n" for c in cases))
        refs, specs = [], []
        with connect(work / "flywheel.duckdb") as con:
            for name in ("v1", "v2-friendly"):
                spec = yaml.safe_load((REPO / "prompts" / "support" / f"{name}.yaml").read_text())
                version, _ = register_version(con, spec)
                refs.append(f"support:{version.hash}")
                for case in cases:
                    messages = render_messages(spec, case["vars"])
                    key = cache_key(base_url, spec["model"], messages, spec["params"], 0)
                    specs.append(CallSpec(key, Endpoint(base_url), spec["model"],
                                          tuple(messages), spec["params"]))
        settings = load_settings(db=work / "flywheel.duckdb", project_dir=work)
        calls = len(specs)
        ideal = calls * args.latency_ms / 1000 / args.concurrency

        load_before = os.getloadavg()[0]
        started, cpu = time.perf_counter(), time.process_time()
        server_cpu = _cpu_seconds(server.pid)
        bare = run_calls(specs, call_options(settings, args.concurrency))
        bare_s, bare_cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = _cpu_seconds(server.pid) - server_cpu
        assert all(r.ok for r in bare.results)

        started, cpu = time.perf_counter(), time.process_time()
        first = run_offline_eval(settings, evalset=str(evalset), prompts=refs,
                                 concurrency=args.concurrency)
        first_wall, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        again = run_offline_eval(settings, evalset=str(evalset), prompts=refs,
                                 concurrency=args.concurrency)
        again_wall = time.perf_counter() - started
        assert again["calls"]["http_attempts"] == 0 and first["errors"]["api"] == 0
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=10)

    cpu = platform.processor() or platform.machine()
    rows = [
        ("bare caller (`run_calls`: AsyncOpenAI, no flow, no DuckDB)", bare_s, bare_cpu),
        ("full eval, cold cache (`run_eval` inside the flow)", first["seconds"], None),
        ("full eval, cold cache, wall incl. flow start", first_wall, first_cpu),
        ("cached rerun (`run_eval`, 0 HTTP calls)", again["seconds"], None),
        ("cached rerun, wall incl. flow start", again_wall, None),
    ]
    table = "\n".join(
        ["| run | seconds | × ideal | client CPU s |", "|---|---|---|---|"]
        + [f"| {name} | {sec:.2f} | {sec / ideal:.2f} | {'' if c is None else f'{c:.2f}'} |"
           for name, sec, c in rows])
    print(f"""### Offline evals

Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}.
{args.cases:,} cases × 2 versions = {calls:,} calls to the demo model (own process, loopback HTTP,
{args.latency_ms:g} ms latency per call), concurrency {args.concurrency}.
Ideal wall time = calls × latency / concurrency = {ideal:.2f} s. Load average (1 min) before
and after: {load_before:.1f} / {load_after:.1f} (other work shared the 2 cores). The demo
model's process used {server_cpu:.2f} CPU s to answer the bare caller's {calls:,} calls.

{table}
""")


if __name__ == "__main__":
    main()
