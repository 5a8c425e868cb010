"""Benchmark: the whole A/B analysis (all metrics and checks) over 10,000,000 requests in 20
experiments, generated with DuckDB SQL straight into a DuckDB file.

    python bench/ab.py [--requests 10000000] [--users 1000000] [--keep DIR]

Prints the generation time (not part of the figure), the baseline (one grouped scan of the
experiment requests), and the analysis: total, SQL (DuckDB aggregation) and Python (statistics)
time, with the machine's load average. Figures go to BENCHMARKS.md, section "A/B analysis".
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flywheel.tasks.ab import build_report
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect, run
from flywheel.tasks.stats import cumulative_weights

EXPERIMENTS = 20
START = "2026-10-15"


def experiment_file(i: int) -> str:
    arms = ["control", "b"] if i % 2 == 0 else ["control", "b", "c"]
    variants = "\n".join(f"  {a}: \"support:{i:02d}{k}abcdef\"" for k, a in enumerate(arms))
    return (f"name: exp-{i:02d}\nvariants:\n{variants}\nstart: {START}\n"
            f"primary_metric: thumbs_up_rate\nmde: 0.05\n"
            f"sequential: {{enabled: {'true' if i % 4 == 0 else 'false'}, tuning: 50000}}\n")


def generate(db: Path, requests: int, users: int) -> float:
    started = time.perf_counter()
    with connect(db) as con:
        params = {"experiments": EXPERIMENTS, "users": users,
                  "cum2": list(cumulative_weights([1, 1])),
                  "cum3": list(cumulative_weights([1, 1, 1]))}
        run(con, "ab/assign_variant_macro")
        run(con, "bench/ab_users", params)
        run(con, "bench/ab_requests", {"requests": requests, "users": users,
                                       "pre_share": 0.15, "start": START})
        run(con, "bench/ab_feedback")
        con.execute("CHECKPOINT")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the project (and its DB) in this folder")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="flywheel-bench-ab-"))
    (root / "experiments").mkdir(parents=True, exist_ok=True)
    for i in range(EXPERIMENTS):
        (root / "experiments" / f"exp-{i:02d}.yaml").write_text(experiment_file(i))
    db = root / "bench.duckdb"
    if not db.exists():
        print(f"generating {args.requests:,} requests for {args.users:,} users ...", flush=True)
        print(f"  generated in {generate(db, args.requests, args.users):.1f} s", flush=True)
    settings = load_settings(db=db, project_dir=root)
    with connect(db) as con:
        counts = con.execute("SELECT (SELECT count(*) FROM requests), "
                             "(SELECT count(*) FROM feedback)").fetchone()
        started = time.perf_counter()
        run(con, "bench/ab_baseline").fetchall()
        baseline = time.perf_counter() - started
    load_before = os.getloadavg()
    started, cpu_started = time.perf_counter(), time.process_time()
    report = build_report(settings, date(2026, 10, 28))
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    load_after = os.getloadavg()
    timings = report["timings"]
    statuses = {}
    for exp in report["experiments"]:
        statuses[exp["status"]] = statuses.get(exp["status"], 0) + 1
    rows = sum(len(e["metrics"]) for e in report["experiments"])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average before/after "
          f"{load_before[0]:.2f}/{load_after[0]:.2f}")
    print(f"data: {counts[0]:,} requests, {counts[1]:,} feedback rows, {EXPERIMENTS} experiments")
    print(f"baseline (one grouped scan of experiment requests): {baseline:.2f} s")
    print(f"analysis total: {total:.2f} s wall, {cpu:.2f} s CPU (all threads)  "
          f"({total / baseline:.1f}x baseline)")
    print(f"  SQL (DuckDB aggregation): {timings['sql_seconds']:.2f} s")
    for step, seconds in timings.get("sql_steps", {}).items():
        print(f"    {step:<24} {seconds:6.2f} s")
    print(f"  Python (statistics for {rows} metric x treatment rows): "
          f"{timings['python_seconds']:.3f} s")
    print(f"  other (files, connect, report): "
          f"{total - timings['sql_seconds'] - timings['python_seconds']:.2f} s")
    print(f"experiment statuses: {statuses}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
