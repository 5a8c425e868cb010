"""The nightly flow's cost, and what Prefect adds to it, measured side by side.

    python bench/nightly.py [--days 10] [--users 3000] [--out bench/out/nightly]

1. ``flywheel demo`` as a user runs it (a fresh process: sample data, Prefect's temporary
   server, every night), wall time.
2. The same nights' work without Prefect, in a fresh process: for each night, the ingest of the
   landing folder and the monitoring, as plain function calls (the baseline).
3. The same nights through ``run_nights`` (the nightly flow with its subflows) in a fresh
   process, with flow-run heartbeats off (what ``flywheel nightly``/``demo`` do) and on
   (Prefect's default), minus nothing: the ratio to (2) is Prefect's overhead.
4. An empty flow with 7 empty subflows (the shape of a night), heartbeats off and on: the
   per-flow overhead by itself.

Prints a markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BASELINE = r"""
import json, sys, time
from datetime import timedelta
sys.path.insert(0, {repo!r})
from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.monitor import run_monitoring
from flywheel.tasks.sample_data import SampleSpec
project, db, days = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = load_settings(db=db, project_dir=project)
spec = SampleSpec(days=days)
t0 = time.perf_counter()
for day in range(days):
    ingest_paths(settings, [settings.landing])
    run_monitoring(settings, spec.start + timedelta(days=day))
print(json.dumps({{"seconds": time.perf_counter() - t0}}))
"""

FLOWS = r"""
import json, os, sys, time
from datetime import timedelta
sys.path.insert(0, {repo!r})
from prefect import flow
from flywheel.flows.cli.data import run_nights
from flywheel.tasks.sample_data import SampleSpec
project, db, days = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = SampleSpec(days=days)

@flow
def _warm() -> None:  # starts the temporary server before the clock starts
    pass

_warm()
t0 = time.perf_counter()
results = run_nights(db, project, [spec.start + timedelta(days=d) for d in range(days)])
assert all(r["ok"] for r in results), results
steps = {{}}
for r in results:
    for s in r["summary"]["steps"]:
        steps[s["step"]] = steps.get(s["step"], 0.0) + s["seconds"]
print(json.dumps({{"seconds": time.perf_counter() - t0, "steps": steps}}))
"""

EMPTY = r"""
import json, time
from prefect import flow
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

@flow
def step() -> int:
    return 1

@flow
def night() -> None:
    for _ in range(7):
        step()

night()  # warm: the temporary server starts here
beats = {{"off": None, "on": 180}}
out = {{}}
for name, value in beats.items():
    with temporary_settings({{PREFECT_FLOWS_HEARTBEAT_FREQUENCY: value}}):
        t0 = time.perf_counter()
        for _ in range(5):
            night()
        out[name] = (time.perf_counter() - t0) / 5
print(json.dumps(out))
"""


def _child(code: str, *args: str, env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=REPO / "bench/out/nightly")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_HOME": str(args.out / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run(["flywheel", "demo", "--workdir", str(args.out / "demo"), "--days", str(args.days),
                    "--users", str(args.users), "--json"], env=env, check=True, capture_output=True)
    demo = time.perf_counter() - t0

    project = args.out / "demo"
    base = _child(BASELINE.format(repo=str(REPO)), str(project), str(args.out / "baseline.duckdb"),
                  str(args.days), env=env)
    flows_off = _child(FLOWS.format(repo=str(REPO)), str(project), str(args.out / "flows-off.duckdb"),
                       str(args.days), env=env)
    flows_on = _child(FLOWS.format(repo=str(REPO)), str(project), str(args.out / "flows-on.duckdb"),
                      str(args.days), env={**env, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "180"})
    empty = _child(EMPTY.format(), env=env)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"1-min load average at start {load:.1f}")
    print(f"{args.days} nights x {args.users} users\n")
    print("| measure | seconds | x baseline |\n|---|---|---|")
    b = float(base["seconds"])
    rows = [
        ("`flywheel demo` wall (sample data, server start, all nights)", demo),
        ("baseline: the nights' work as plain functions (ingest + monitoring)", b),
        ("nightly flows, heartbeats off (`flywheel nightly`/`demo`)", float(flows_off["seconds"])),
        ("nightly flows, heartbeats on (Prefect default)", float(flows_on["seconds"])),
    ]
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} | {seconds / b:.2f} |")
    print("\nsteps (heartbeats off), summed over the nights: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in flows_off["steps"].items()))
    print(f"empty night (1 flow + 7 empty subflows): heartbeats off {empty['off']:.2f} s, "
          f"on {empty['on']:.2f} s")


if __name__ == "__main__":
    main()
