"""The demo's cost as a user meets it, against the same nights' work as plain function calls.

    python bench/nightly.py [--days 10] [--users 3000] [--runs 3] [--out bench/out/nightly]
    python bench/nightly.py baseline --workdir DIR [--days 10] [--users 3000]

The first form runs, in turn, ``runs`` times each, every one a fresh process in an empty folder:

1. ``flywheel demo`` exactly as a user runs it: a fresh ``PREFECT_HOME`` (Prefect builds its
   database and starts its temporary server), offline (the demo model on a loopback port), the
   nights as the ``nightly-range`` flow with one ``nightly-flywheel`` subflow a night and each
   step a Prefect task.
2. The baseline (the second form): the same sample data, the same demo model, and every step of
   ``flows/steps.py`` of every night called in order as a plain function (no Prefect run: the
   steps publish no artifacts), in one process.

It prints the median wall time of each, their ratio pair by pair, and the seconds per step summed
over the nights (the demo's from its runs table, the baseline's measured around each call).
Figures go in BENCHMARKS.md ("The nightly").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def baseline(workdir: Path, days: int, users: int) -> dict[str, object]:
    """The demo's nights as plain calls of the step functions; returns seconds per step."""
    from dataclasses import replace
    from datetime import timedelta

    from flywheel.flows.night import Night
    from flywheel.flows.steps import STEPS
    from flywheel.tasks.config import load_settings
    from flywheel.tasks.demo_model import DemoModelServer
    from flywheel.tasks.sample_data import SampleSpec, write_sample_data

    spec = SampleSpec(days=days, users=users)
    write_sample_data(workdir, spec)
    settings = load_settings(db=workdir / "flywheel.duckdb", project_dir=workdir)
    steps: dict[str, float] = {s.name: 0.0 for s in STEPS}
    failed: list[str] = []
    with DemoModelServer() as server:
        settings = replace(settings, openai_base_url=server.base_url)
        for day in range(days):
            night = Night(f"baseline-{day}", spec.start + timedelta(days=day), settings)
            for step in STEPS:
                clock = time.perf_counter()
                try:
                    step.run(night)
                except Exception as exc:  # counted, like a failed step of the flow
                    failed.append(f"{night.run_date} {step.name}: {exc}")
                steps[step.name] += time.perf_counter() - clock
    return {"steps": steps, "failed": failed}


def _demo_steps(db: Path) -> dict[str, float]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT step, sum(seconds) FROM runs WHERE status <> 'running' "
                           "GROUP BY step").fetchall()
    finally:
        con.close()
    return {str(step): float(seconds) for step, seconds in rows}


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    clock = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - clock


def compare(days: int, users: int, runs: int, out: Path) -> None:
    """Run demo and baseline in turn ``runs`` times each and print the table."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    base_env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "TMPDIR": tempfile.gettempdir()}
    load = os.getloadavg()[0]
    demo_s, base_s, ratios = [], [], []
    demo_steps: dict[str, float] = {}
    base_steps: dict[str, object] = {}
    for i in range(runs):
        home = out / f"run{i}"
        (home / "home").mkdir(parents=True)
        env = {**base_env, "HOME": str(home / "home"), "PREFECT_HOME": str(home / "prefect")}
        demo = _timed(["flywheel", "demo", "--workdir", str(home / "demo"), "--days", str(days),
                       "--users", str(users), "--json"], home, env)
        base = _timed([sys.executable, str(Path(__file__).resolve()), "baseline", "--workdir",
                       str(home / "baseline"), "--days", str(days), "--users", str(users)], home, env)
        demo_s.append(demo)
        base_s.append(base)
        ratios.append(demo / base)
        demo_steps = _demo_steps(home / "demo" / "flywheel.duckdb")
        base_steps = json.loads((home / "baseline" / "bench-baseline.json").read_text())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"1-min load average at start {load:.1f}; {days} nights x {users} users, {runs} runs each\n")
    print("| command (fresh process, empty folder, fresh HOME and PREFECT_HOME) | median s | min | max |")
    print("|---|---|---|---|")
    for name, values in (("`flywheel demo`", demo_s), ("baseline: the steps as plain calls", base_s)):
        print(f"| {name} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |")
    print(f"\ndemo / baseline, pair by pair: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})\n")
    print("| step | demo (task, concurrent) s | baseline (plain, in order) s |\n|---|---|---|")
    steps = base_steps.get("steps", {})
    assert isinstance(steps, dict)
    for name, seconds in steps.items():
        print(f"| {name} | {demo_steps.get(name, 0.0):.1f} | {seconds:.1f} |")
    print(f"| whole nights | {demo_steps.get('nightly', 0.0):.1f} | {sum(steps.values()):.1f} |")
    if base_steps.get("failed"):
        print("\nbaseline failures:", *base_steps["failed"], sep="\n  ")  # type: ignore[misc]


def main() -> None:
    """Parse the arguments; run the comparison or the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", choices=("compare", "baseline"), default="compare")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "bench/out/nightly")
    args = parser.parse_args()
    if args.mode == "baseline":
        if args.workdir is None:
            parser.error("baseline needs --workdir")
        result = baseline(args.workdir.resolve(), args.days, args.users)
        (args.workdir / "bench-baseline.json").write_text(json.dumps(result))
        return
    compare(args.days, args.users, args.runs, args.out.resolve())


if __name__ == "__main__":
    main()
