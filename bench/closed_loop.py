"""The closed loop's figures (issue 18): ``flywheel demo --days 14`` as a user runs it, against
the DAG issue's baseline (``bench/nightly.py baseline``: the sample data's 10 nights as plain
step calls) in the same run, and what the loop achieved.

    python bench/closed_loop.py [--days 14] [--users 3000] [--baseline-days 10] [--out DIR]

It prints the wall times and their ratio, the support prompt's thumbs-up rate over the first and
the last 3 days with the one-sided two-proportion test (from the demo's logged feedback), and
the automation's moves in ``flywheel prompts history support --json``. The DAG issue's budget
is the demo at 1.17 x the baseline for 10 nights; the closed loop is allowed that plus 25% for
its 14 days' equivalent: 1.17 x 1.4 x 1.25 = 2.05 x the 10-night baseline. Figures go in
BENCHMARKS.md ("The closed loop"). Time the same commands with the machine's timing tool too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_RATIO = 1.17 * 1.4 * 1.25


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    clock = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - clock, done.stdout


def main() -> None:
    """Run the demo and the baseline once each, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--baseline-days", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench/out/closed_loop")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    (args.out / "home").mkdir(parents=True)
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "HOME": str(args.out / "home"),
           "PREFECT_HOME": str(args.out / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "TMPDIR": tempfile.gettempdir()}
    load = os.getloadavg()[0]
    demo_s, stdout = _timed(["flywheel", "demo", "--workdir", str(args.out / "demo"), "--days",
                             str(args.days), "--users", str(args.users), "--json"], args.out, env)
    base_s, _ = _timed([sys.executable, str(REPO / "bench/nightly.py"), "baseline", "--workdir",
                        str(args.out / "baseline"), "--days", str(args.baseline_days), "--users",
                        str(args.users)], args.out, env)
    demo = json.loads(stdout)
    _, history = _timed(["flywheel", "--db", demo["db"], "--project-dir", demo["workdir"],
                         "prompts", "history", "support", "--json"], args.out, env)
    trend = demo["quality_trend"]
    first, last, test = trend["first"], trend["last"], trend["test"]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, 1-min load average at start {load:.1f}")
    print(f"flywheel demo --days {args.days} --users {args.users}: {demo_s:.1f} s; baseline "
          f"({args.baseline_days} nights as plain calls): {base_s:.1f} s; ratio "
          f"{demo_s / base_s:.2f} (budget {BUDGET_RATIO:.2f})")
    print(f"support thumbs up: first 3 days {first['ups']}/{first['thumbs']} = "
          f"{first['ups'] / first['thumbs']:.1%}, last 3 days {last['ups']}/{last['thumbs']} = "
          f"{last['ups'] / last['thumbs']:.1%}; z = {test['z']:.2f}, one-sided p = {test['p_value']:.3g}")
    print(f"nights ok: {sum(n['ok'] for n in demo['nights'])}/{len(demo['nights'])}")
    for move in reversed(json.loads(history)["moves"]):
        print(f"  {move['moved_at'][:10]} {move['label']:<10} {(move['to_hash'] or '')[:12]} "
              f"{move['moved_by']}: {(move['reason'] or '')[:110]}")
    for event in trend["ramp_events"]:
        print(f"  ramp {event['rollout_id']} {event['action']} night {event['night']} by {event['by']}")


if __name__ == "__main__":
    main()
