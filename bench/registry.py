"""Prompt registry: the application API's cache, and the request-link view, each against a
baseline measured in the same run.

    python bench/registry.py [--calls 20000] [--requests 1000000]

1. ``PromptRegistry.get`` + ``render`` of ``support@production`` from the in-process cache,
   against the baseline an application would write without it: open the DuckDB file read-only,
   resolve the REF, render, close — on every call.
2. The request-link report (``link_report``: counts kept per distinct logged (hash, name),
   resolved against the registry) against a naive per-request prefix join
   (``sql/bench/registry_link_naive.sql``), on the same requests, the counts agreeing: built
   from every request (the first report), then after one more night's requests (1/30 of them:
   it reads only those).
Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flywheel.tasks.db import connect, fetch_dicts, run, sql_text  # noqa: E402
from flywheel.tasks.registry import (  # noqa: E402
    PromptRegistry,
    folder_files,
    link_report,
    render_messages,
    resolve,
    sync_paths,
)

REF = "support@production"
VARIABLES = {"question": "How do I get a refund?", "order_id": "A-1042"}


def per_call(fn: Callable[[], object], calls: int, repeats: int = 3) -> float:
    """Best-of-``repeats`` seconds per call."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def bench_api(db: Path, calls: int) -> list[tuple[str, float]]:
    def uncached() -> object:
        with connect(db, read_only=True) as con:
            version = resolve(con, REF)
        return render_messages(version.content, VARIABLES, prompt=REF)

    registry = PromptRegistry(db, ttl_s=3600)
    version = registry.get(REF)
    pinned = version.hash

    def cached() -> object:
        return registry.render(registry.get(REF), VARIABLES)

    return [
        ("baseline: open read-only + resolve + render, every call", per_call(uncached, 200)),
        ("`get(label)` + `render` (cached label)", per_call(cached, calls)),
        ("`get(full hash)` (pinned, never expires)", per_call(lambda: registry.get(pinned), calls)),
        ("`render(version)` only (compiled template cached)",
         per_call(lambda: registry.render(version, VARIABLES), calls)),
    ]


def timed_query(con: duckdb.DuckDBPyConnection, text: str, repeats: int = 3) -> tuple[float, tuple]:
    times, row = [], ()
    for _ in range(repeats):
        started = time.perf_counter()
        row = con.execute(text).fetchone()
        times.append(time.perf_counter() - started)
    return min(times), row


def bench_links(db: Path, n: int) -> list[tuple[str, float]]:
    night = n // 30
    with connect(db) as con:
        hashes = [r["hash"] for r in fetch_dicts(con, "registry/recent_versions", {"limit": 10})]
        logged = [*hashes] + [h[:12] for h in hashes] + [
            "0123456789ab", "fedcba9876543210", None]
        names = ["support", "summarizer", None]
        run(con, "bench/registry_requests", {"n": n, "first": 0, "hashes": logged, "names": names})
        naive_s, _ = timed_query(con, sql_text("bench/registry_link_naive"))
        built_s = best_of(lambda: con.execute("DELETE FROM request_link_state"),
                          lambda: link_report(con))
        con.execute("CREATE TEMP TABLE pairs_then AS SELECT * FROM request_link_pairs")
        con.execute("CREATE TEMP TABLE state_then AS SELECT * FROM request_link_state")
        run(con, "bench/registry_requests", {"n": night, "first": n, "hashes": logged,
                                              "names": names})

        def back_to_the_mark() -> None:
            con.execute("DELETE FROM request_link_pairs; DELETE FROM request_link_state; "
                        "INSERT INTO request_link_pairs SELECT * FROM pairs_then; "
                        "INSERT INTO request_link_state SELECT * FROM state_then")

        night_s = best_of(back_to_the_mark, lambda: link_report(con))
        report = link_report(con)
        naive_row = con.execute(sql_text("bench/registry_link_naive")).fetchone()
    counts = tuple(report[k] for k in ("requests", "resolved", "unknown", "ambiguous", "no_hash"))
    assert counts == naive_row[:5], (counts, naive_row)
    return [(f"naive per-request prefix join ({n:,} requests)", naive_s),
            (f"link report, built from every request ({n:,})", built_s),
            (f"link report, the next night ({night:,} more requests)", night_s)]


def best_of(prepare: Callable[[], object], work: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of ``repeats`` runs of ``work``, each after ``prepare`` (not timed)."""
    times = []
    for _ in range(repeats):
        prepare()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def cpu_model() -> str:
    """The CPU model name (Linux), else what platform knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    try:
        db = folder / "f.duckdb"
        with connect(db) as con:
            sync_paths(con, folder_files(REPO / "prompts"), base=REPO, by="bench")
        api = bench_api(db, args.calls)
        links = bench_links(db, args.requests)
    finally:
        shutil.rmtree(folder)
    print(f"Machine: {cpu_model()}, {platform.machine()}, {os.cpu_count()} CPUs "
          f"visible, Python {platform.python_version()}, DuckDB {duckdb.__version__}\n")
    print("| application API | per call | calls/s | vs baseline |\n|---|---|---|---|")
    base = api[0][1]
    for label, seconds in api:
        print(f"| {label} | {seconds * 1e6:,.1f} µs | {1 / seconds:,.0f} | "
              f"{base / seconds:,.0f}× |")
    print("\n| request links | seconds | vs baseline |\n|---|---|---|")
    base = links[0][1]
    for label, seconds in links:
        print(f"| {label} | {seconds:.3f} | {base / seconds:,.1f}× |")
    print("\nEach figure is the best of 3 runs.")


if __name__ == "__main__":
    main()
