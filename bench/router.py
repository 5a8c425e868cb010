"""Serving: ``Router.choose`` + ``render`` per call, and the RequestLogger's sustained rate from
8 threads, each against a baseline measured in the same run.

    python bench/router.py [--calls 50000] [--records 40000] [--threads 8]

1. Per-call median of ``choose`` + ``render`` (targets: under 50 µs) for a plain prompt, an
   experiment, and a prompt under a promotion ramp, over distinct user ids; baselines:
   ``render_messages`` alone (the floor) and the registry's cached ``PromptRegistry.get`` +
   ``render`` (tasks/registry/_api.py).
2. RequestLogger: ``threads`` threads each log ``records`` request records (about 1 KB each,
   like the example application's) until ``close()`` has written and published everything;
   sustained records/s (target 20,000), and the per-call latency of ``log_request`` (what the
   request path pays). Baseline: the same threads writing each record straight to one file
   under a lock (``json.dumps`` + ``write`` + ``flush`` per record, no buffer).
Prints a Markdown section for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flywheel.tasks.config import load_settings  # noqa: E402
from flywheel.tasks.db import connect  # noqa: E402
from flywheel.tasks.registry import (  # noqa: E402
    PromptRegistry,
    folder_files,
    render_messages,
    sync_paths,
)
from flywheel.tasks.serving import (  # noqa: E402
    RequestLogger,
    Router,
    write_snapshot,
)
from flywheel.tasks.serving.rollout import promote_with_ramp  # noqa: E402

VARIABLES = {"question": "How do I get a refund for my last invoice?", "order_id": "A-1042"}
SUMMARY = {"text": "The dashboard times out for EU users since 9am. Login works; reports fail."}


def median_ns(fn: Callable[[int], object], calls: int) -> float:
    """Median nanoseconds of ``fn(i)`` over ``calls`` calls (after a warm-up)."""
    for i in range(min(calls, 2000)):
        fn(i)
    timings = []
    clock = time.perf_counter_ns
    for i in range(calls):
        started = clock()
        fn(i)
        timings.append(clock() - started)
    return statistics.median(timings)


def setup(root: Path) -> tuple[Path, Path]:
    """A project with the example prompts and experiments, a promotion ramp, serving.json."""
    for folder in ("prompts", "experiments"):
        shutil.copytree(REPO / folder, root / folder)
    settings = load_settings(db=root / "flywheel.duckdb", project_dir=root)
    with connect(settings.db_path) as con:
        sync_paths(con, folder_files(root / "prompts"), folder=root / "prompts", base=root)
        promote_with_ramp(con, "summarizer", "4e87706da084", [0.2, 0.5, 1.0],
                          min_users_per_stage=100, by="bench")
    write_snapshot(settings, reason="bench")
    return settings.serving_file, settings.db_path


def bench_router(serving: Path, db: Path, calls: int) -> list[tuple[str, float]]:
    router = Router.load(serving)
    users = [f"user-{i:06d}" for i in range(calls)]
    support = router.document["prompts"]["support"]["labels"]["production"]
    content = router.document["versions"][support]["content"]
    registry = PromptRegistry(db, ttl_s=3600)
    registry.get("support@production")

    def plain(i: int) -> object:
        return router.render(router.choose("support", users[i]), VARIABLES)

    def experiment(i: int) -> object:
        return router.render(router.choose("tone-test", users[i]), VARIABLES)

    def ramp(i: int) -> object:
        return router.render(router.choose("summarizer", users[i]), SUMMARY)

    def choose_only(i: int) -> object:
        return router.choose("tone-test", users[i])

    def render_only(i: int) -> object:
        return render_messages(content, VARIABLES, prompt="support")

    def registry_api(i: int) -> object:
        return registry.render(registry.get("support@production"), VARIABLES)

    return [(name, median_ns(fn, calls) / 1000) for name, fn in (
        ("choose + render: prompt (support@production)", plain),
        ("choose + render: experiment (tone-test, 2 arms)", experiment),
        ("choose + render: prompt under a promotion ramp", ramp),
        ("choose alone (experiment)", choose_only),
        ("baseline: render_messages alone", render_only),
        ("baseline: PromptRegistry.get + render (cached)", registry_api),
    )]


def _record(i: int, thread: int) -> dict[str, object]:
    return {"user_id": f"user-{i % 5000}", "model": "gpt-4o-mini", "input": VARIABLES,
            "messages": [{"role": "system", "content": "You are the support assistant. " * 6},
                         {"role": "user", "content": "Customer question: " + VARIABLES["question"]}],
            "output": "Refunds are issued to the original payment method within 5 days. " * 3,
            "latency_ms": 812.5, "prompt_tokens": 120, "completion_tokens": 30,
            "prompt_name": "support", "prompt_hash": "70f434f035b40e2d82b8a86fb69a0b58",
            "request_id": f"t{thread}-r{i}"}


def _run_threads(threads: int, work: Callable[[int], list[int]]) -> list[int]:
    latencies: list[list[int]] = [[] for _ in range(threads)]

    def target(t: int) -> None:
        latencies[t] = work(t)

    pool = [threading.Thread(target=target, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return [x for chunk in latencies for x in chunk]


def bench_logger(landing: Path, records: int, threads: int) -> dict[str, dict[str, float]]:
    clock = time.perf_counter_ns
    out: dict[str, dict[str, float]] = {}

    logger = RequestLogger(landing / "logger")

    def logged(t: int) -> list[int]:
        timings = []
        for i in range(records):
            rec = _record(i, t)
            started = clock()
            logger.log_request(**rec)  # type: ignore[arg-type]
            timings.append(clock() - started)
        return timings

    started, cpu = time.perf_counter(), time.process_time()
    timings = _run_threads(threads, logged)
    logger.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    lines = sum(1 for p in (landing / "logger").glob("*.jsonl") for _ in p.open("rb"))
    assert lines == records * threads, (lines, records * threads)
    out["RequestLogger (buffered, writer thread)"] = _figures(timings, seconds, cpu,
                                                              records * threads)

    lock = threading.Lock()
    path = landing / "baseline" / "requests-baseline.jsonl"
    path.parent.mkdir(parents=True)
    handle = path.open("w", encoding="utf-8")

    def direct(t: int) -> list[int]:
        timings = []
        for i in range(records):
            rec = _record(i, t) | {"timestamp": datetime.now(UTC).isoformat()}
            started = clock()
            line = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
            with lock:
                handle.write(line + "\n")
                handle.flush()
            timings.append(clock() - started)
        return timings

    started, cpu = time.perf_counter(), time.process_time()
    timings = _run_threads(threads, direct)
    handle.close()
    out["baseline: write + flush per record under a lock"] = _figures(
        timings, time.perf_counter() - started, time.process_time() - cpu, records * threads)
    return out


def _figures(timings: list[int], seconds: float, cpu: float, n: int) -> dict[str, float]:
    timings.sort()
    return {"records_per_s": n / seconds, "cpu_us": cpu / n * 1e6,
            "p50_us": timings[len(timings) // 2] / 1000,
            "p99_us": timings[int(len(timings) * 0.99)] / 1000, "max_us": timings[-1] / 1000}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores (shared with other jobs), {platform.system()}, "
            f"Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=50000)
    parser.add_argument("--records", type=int, default=40000, help="per thread")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        serving, db = setup(root / "project")
        router = bench_router(serving, db, args.calls)
        logger = bench_logger(root / "landing", args.records, args.threads)
    floor = dict(router)["baseline: render_messages alone"]
    print("## Serving\n")
    print(f"`python bench/router.py --calls {args.calls} --records {args.records} --threads "
          f"{args.threads}`. Machine: {machine()}.\n")
    print("| per call (median over distinct users) | µs | × render alone |")
    print("|---|---|---|")
    for name, micros in router:
        print(f"| {name} | {micros:.1f} | {micros / floor:.2f} |")
    base = logger["baseline: write + flush per record under a lock"]["records_per_s"]
    print(f"\n| {args.threads} threads × {args.records} records (~1 KB) | records/s (wall) "
          "| × baseline | CPU µs per record | log call p50 µs | p99 µs | max µs |")
    print("|---|---|---|---|---|---|---|")
    for name, fig in logger.items():
        print(f"| {name} | {fig['records_per_s']:,.0f} | {fig['records_per_s'] / base:.2f} | "
              f"{fig['cpu_us']:.1f} | {fig['p50_us']:.1f} | {fig['p99_us']:.1f} | "
              f"{fig['max_us']:,.0f} |")
    print(f"\nLoad average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.")


if __name__ == "__main__":
    main()
