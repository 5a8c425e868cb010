"""The nightly at production volume: does a night cost one night, or the whole history?

    python bench/production_volume.py [--per-day 150000] [--nights 6] [--out bench/out/volume]
                                      [--prefect-server]
    python bench/production_volume.py fit --runs OUT1/results.json OUT2/results.json
    (floor and steps: one measurement, run by the first form)

It builds a project (the sample project's prompts, experiments and eval sets) and ``--nights``
days of native JSONL landing files generated with DuckDB SQL (``sql/bench/volume_*.sql``): each
request copies the content, arm and feedback of one of the sample's in-experiment requests
(about a third of requests get feedback), for a user among ``per_day / 5``, assigned to their
arm by the assignment formula; ``--unique-pct`` percent get an input of their own. Then, night
by night, it moves that day's folder into ``landing/`` and runs ``flywheel nightly --date D`` as
a fresh process (its own temporary Prefect server, or with ``--prefect-server`` a long-lived
``prefect server start`` as a deployment has, started once for the run; the demo model on a
loopback port for the offline evals), recording its wall and CPU time and peak RSS (``wait4``) and each step's seconds from the
runs table; then the night's steps again as plain calls in a fresh process (CPU seconds per
step: the machine is shared, and CPU time moves less with the load than wall time); the same
command on the project without data (what a ``flywheel nightly`` costs whatever the data); and
the same-run floor: a fresh process that times DuckDB's ``read_json`` of the night's files plus
one GROUP BY over every stored request. ``fit`` takes runs at two volumes and fits, per step, CPU
seconds = fixed + per request of the night + per request of history, and extrapolates to 1 M
requests/day with 90 days of history. Figures go in BENCHMARKS.md ("Production volume") and
docs/scaling.md.
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START = date(2026, 11, 3)  # the sample project's experiments start on this day
STEPS = ("ingest", "prompts-sync", "ab-analysis", "offline-eval", "export", "monitoring",
         "rollout", "serving-snapshot", "mlflow-mirror", "report")


def build(out: Path, nights: int, per_day: int, unique_pct: int) -> Path:
    """The project folder and every night's landing folder (under ``out/staging``)."""
    import duckdb

    from flywheel.tasks.db import run
    from flywheel.tasks.sample_data import SampleSpec, write_sample_data
    from flywheel.tasks.stats import cumulative_weights

    shutil.rmtree(out, ignore_errors=True)
    sample = out / "sample"
    write_sample_data(sample, SampleSpec(days=4, users=1500))
    project = out / "project"
    for folder in ("prompts", "experiments", "evalsets"):
        shutil.copytree(sample / folder, project / folder)
    stamps = [(START + timedelta(days=d)).isoformat() for d in range(2)]
    con = duckdb.connect(str(out / "generate.duckdb"))
    try:
        run(con, "ab/assign_variant_macro")
        run(con, "bench/volume_templates",
            {"requests": [str(sample / "landing" / s / f"requests-{s}.jsonl") for s in stamps]})
        run(con, "bench/volume_feedback_templates",
            {"feedback": [str(sample / "landing" / s / f"feedback-{s}.jsonl") for s in stamps]})
        run(con, "bench/volume_arms")
        for name, variants, share in (("tone-test", ["control", "friendly"], 0.6),
                                      ("summary-length", ["control", "concise", "detailed"], 0.4)):
            run(con, "bench/volume_arm_insert", {
                "experiment": name, "share": share, "variants": variants,
                "cum_weights": list(cumulative_weights([1.0] * len(variants)))})
        run(con, "bench/volume_feedback_create")
        for day in range(nights):
            stamp = START + timedelta(days=day)
            folder = out / "staging" / stamp.isoformat()
            folder.mkdir(parents=True)
            run(con, "bench/volume_day", {"day": day, "day_start": stamp.isoformat(), "n": per_day,
                                          "users": max(per_day // 5, 100),
                                          "unique_pct": unique_pct})
            run(con, "bench/volume_day_feedback")
            run(con, "bench/volume_write_requests",
                {"path": str(folder / f"requests-{stamp}.jsonl")})
            run(con, "bench/volume_write_feedback",
                {"path": str(folder / f"feedback-{stamp}.jsonl"), "day_start": stamp.isoformat(),
                 "day_end": (stamp + timedelta(days=1)).isoformat()})
    finally:
        con.close()
    return project


def floor(db: Path, night_dir: Path) -> dict[str, float]:
    """The same-run floor: DuckDB's read_json of the night's files, a GROUP BY over the store."""
    import duckdb

    from flywheel.tasks.db import run

    paths = sorted(str(p) for p in night_dir.glob("*.jsonl"))
    cpu = time.process_time()
    clock = time.perf_counter()
    scratch = duckdb.connect()
    run(scratch, "bench/raw_read", {"paths": paths})
    read_s = time.perf_counter() - clock
    scratch.close()
    clock = time.perf_counter()
    con = duckdb.connect(str(db), read_only=True)
    run(con, "bench/floor_group_by").fetchall()
    con.close()
    return {"read_json_s": read_s, "group_by_s": time.perf_counter() - clock,
            "floor_cpu_s": time.process_time() - cpu}


def steps(db: Path, project: Path, stamp: str) -> dict[str, float]:
    """The night's steps again as plain calls in order (a re-run: ingest finds its files seen),
    each step's wall and CPU seconds (``process_time``: every thread of the process, DuckDB's
    included), so a loaded machine moves the figures less than the threads of the flow."""
    from flywheel.flows.night import Night
    from flywheel.flows.steps import STEPS
    from flywheel.tasks.config import load_settings
    from flywheel.tasks.db import held_open

    settings = load_settings(db=db, project_dir=project)
    night = Night(f"bench-{stamp}", date.fromisoformat(stamp), settings)
    out: dict[str, float] = {}
    with held_open(db, memory_limit=settings.db_memory_limit):
        for step in STEPS:
            clock, cpu = time.perf_counter(), time.process_time()
            try:
                step.run(night)
            except Exception as exc:  # counted, like a failed step of the flow
                print(f"{step.name}: {exc}", file=sys.stderr)
            out[f"cpu:{step.name}"] = time.process_time() - cpu
            out[f"plain:{step.name}"] = time.perf_counter() - clock
    return out


# Runs argv[2:] and writes its peak RSS and CPU seconds (wait4) to the file argv[1]. Started
# from this small process, the command's peak RSS is its own: a child forked from the benchmark
# itself starts its count at the benchmark's RSS (the generated data: over 1.5 GB at 300k/day).
_LAUNCH = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"peak_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
               "exit": float(os.waitstatus_to_exitcode(status))}, out)
"""


def _tree_cpu_s(root: int) -> float:
    """CPU seconds so far of a process and its live descendants (``/proc``)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    return sum(ticks.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def _night(project: Path, env: dict[str, str], stamp: str,
           server: subprocess.Popen[bytes] | None = None) -> dict[str, float]:
    """One ``flywheel nightly --date`` in a fresh process: wall and CPU seconds (the command
    and the temporary Prefect server it starts), peak RSS (MB) of its largest process; with a
    long-lived ``server``, the CPU seconds that server spent meanwhile (``server_cpu_s``)."""
    figures = project / f"nightly-{stamp}.usage.json"
    server_cpu = _tree_cpu_s(server.pid) if server else 0.0
    clock = time.perf_counter()
    with open(project / f"nightly-{stamp}.log", "w") as log:
        subprocess.run([sys.executable, "-c", _LAUNCH, str(figures), "flywheel", "nightly",
                        "--date", stamp], cwd=project, env=env, stdout=log,
                       stderr=subprocess.STDOUT, check=True)
    wall = time.perf_counter() - clock
    server_cpu = _tree_cpu_s(server.pid) - server_cpu if server else 0.0
    return {"wall_s": wall, "server_cpu_s": server_cpu, **json.loads(figures.read_text())}


def _noop(out: Path, project: Path, env: dict[str, str], stamp: str,
          server: subprocess.Popen[bytes] | None = None) -> dict[str, float]:
    """The same ``flywheel nightly --date`` on the project with no data (its prompts,
    experiments and eval sets, its own empty store): what the command costs whatever the data
    (Python and Prefect start-up, the temporary server, the flow's task runs), measured beside
    each night."""
    empty = out / "noop"
    if not empty.exists():
        for folder in ("prompts", "experiments", "evalsets"):
            shutil.copytree(project / folder, empty / folder)
    night = _night(empty, {**env, "FLYWHEEL_DB": str(empty / "flywheel.duckdb"),
                           "FLYWHEEL_PROJECT_DIR": str(empty)}, stamp, server)
    return {"noop_wall_s": night["wall_s"], "noop_cpu_s": night["cpu_s"],
            "noop_server_cpu_s": night["server_cpu_s"]}


def _steps(db: Path, stamp: str) -> dict[str, float]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT step, seconds FROM runs WHERE run_date = ?::DATE AND status <> 'running' "
            "QUALIFY row_number() OVER (PARTITION BY step ORDER BY started_at DESC) = 1",
            [stamp]).fetchall()
        history = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    finally:
        con.close()
    return {**{str(step): float(s or 0.0) for step, s in rows}, "history": float(history)}


@contextmanager
def _prefect_server(out: Path, wanted: bool
                    ) -> Iterator[tuple[subprocess.Popen[bytes] | None, dict[str, str]]]:
    """A long-lived ``prefect server start`` for the whole run (as under a deployment): its
    process and the client's ``PREFECT_API_URL``; or none: every command starts its temporary
    server."""
    if not wanted:
        yield None, {}
        return
    sys.path.append(str(REPO))  # after site-packages: flywheel stays the installed one
    from tests.support.prefect_server import running_prefect_server

    with running_prefect_server(out / "prefect-server", out / "prefect-server.log") as (proc, env):
        yield proc, {"PREFECT_API_URL": env["PREFECT_API_URL"]}


def measure(out: Path, nights: int, per_day: int, unique_pct: int, rerun_last: bool,
            prefect_server: bool = False) -> list[dict]:
    """Build the data, run every night in turn; one row of figures a night."""
    from flywheel.tasks.demo_model import DemoModelServer

    project = build(out, nights, per_day, unique_pct)
    db = project / "flywheel.duckdb"
    results = []
    with DemoModelServer() as server, _prefect_server(out, prefect_server) as (prefect, api):
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "bench",
               "FLYWHEEL_DB": str(db), "FLYWHEEL_PROJECT_DIR": str(project),
               "PREFECT_HOME": str(out / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               **api}
        for day in range(nights):
            stamp = (START + timedelta(days=day)).isoformat()
            target = project / "landing" / stamp
            target.parent.mkdir(exist_ok=True)
            shutil.move(out / "staging" / stamp, target)
            for rerun in (False, True) if rerun_last and day == nights - 1 else (False,):
                night = _night(project, env, stamp, prefect)
                steps = _steps(db, stamp)  # before a re-run replaces the night's rows
                plain = subprocess.run(
                    [sys.executable, __file__, "steps", "--db", str(db), "--project", str(project),
                     "--date", stamp], check=True, capture_output=True, text=True, env=env)
                steps.update(json.loads(plain.stdout.strip().splitlines()[-1]))
                base = subprocess.run(
                    [sys.executable, __file__, "floor", "--db", str(db), "--night-dir", str(target)],
                    check=True, capture_output=True, text=True)
                row = {"night": day + 1, "date": stamp, "rerun": rerun, "per_day": per_day,
                       "prefect_server": prefect is not None, **night, **steps,
                       **_noop(out, project, env, stamp, prefect),
                       **json.loads(base.stdout)}
                results.append(row)
                print(json.dumps(row), flush=True)
    return results


def _ratio(last: dict, first: dict, key: str) -> str:
    return f"{last.get(key, 0.0) / max(first.get(key, 0.0), 1e-9):.2f}"


def table(results: list[dict], per_day: int) -> str:
    """Two Markdown tables: the whole command and its steps in the flow (wall seconds: the steps
    run at the same time), and each step as a plain call (CPU seconds, wall in brackets); then
    night N / night 1."""
    cols = ["ingest", "ab-analysis", "export", "monitoring", "report", "nightly"]
    plain = ["ingest", "prompts-sync", "ab-analysis", "offline-eval", "export", "monitoring",
             "report"]
    lines = [f"{per_day:,} requests/day; machine: {platform.machine()}, {os.cpu_count()} cores, "
             f"shared with other helpers' runs (load average at end "
             f"{os.getloadavg()[0]:.1f})", "",
             "| night | history | " + " | ".join(cols) + " | whole command s | CPU s "
             "| long-lived server's CPU s | peak RSS MB "
             "| floor s (read_json + GROUP BY) | floor CPU s | command / floor (wall, CPU) "
             "| no-data nightly CPU s | (command - no-data) / floor, CPU |",
             "|" + "---|" * (len(cols) + 11)]
    for r in results:
        floor_s = r["read_json_s"] + r["group_by_s"]
        label = f"{r['night']}{' (rerun)' if r['rerun'] else ''}"
        lines.append(f"| {label} | {r['history'] / 1e6:.2f} M | "
                     + " | ".join(f"{r.get(c, 0.0):.1f}" for c in cols)
                     + f" | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r.get('server_cpu_s', 0.0):.1f} "
                     f"| {r['peak_rss_mb']:.0f} | "
                     f"{floor_s:.2f} | {r['floor_cpu_s']:.2f} | {r['wall_s'] / floor_s:.1f}, "
                     f"{r['cpu_s'] / r['floor_cpu_s']:.1f} | {r.get('noop_cpu_s', 0.0):.1f} | "
                     f"{(r['cpu_s'] - r.get('noop_cpu_s', 0.0)) / r['floor_cpu_s']:.1f} |")
    lines += ["", "Each step again as a plain call, in order (a re-run: ingest finds its files "
              "seen): CPU seconds (wall)", "",
              "| night | " + " | ".join(plain) + " | all steps |", "|" + "---|" * (len(plain) + 2)]
    for r in results:
        label = f"{r['night']}{' (rerun)' if r['rerun'] else ''}"
        total = sum(v for k, v in r.items() if k.startswith("cpu:"))
        r["cpu:all"] = total
        lines.append(f"| {label} | " + " | ".join(
            f"{r.get('cpu:' + c, 0.0):.1f} ({r.get('plain:' + c, 0.0):.1f})" for c in plain)
            + f" | {total:.1f} |")
    first, last = results[0], [r for r in results if not r["rerun"]][-1]
    lines += ["", f"night {last['night']} / night 1, in the flow (wall): " + ", ".join(
        f"{c} {_ratio(last, first, c)}" for c in (*cols, "wall_s")) + "; whole command CPU "
        + _ratio(last, first, "cpu_s"),
        f"night {last['night']} / night 1, plain calls (CPU): " + ", ".join(
        f"{c} {_ratio(last, first, 'cpu:' + c)}" for c in (*plain, "all"))]
    return "\n".join(lines)


def _line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares intercept and slope."""
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / max(
        sum((x - mean_x) ** 2 for x in xs), 1e-9)
    return mean_y - slope * mean_x, slope


def extrapolate(runs: dict[int, list[dict]], target_per_day: int = 1_000_000,
                target_days: int = 90, from_night: int = 8) -> str:
    """Per step, CPU seconds (plain calls) as fixed + a x requests of the night + b x requests
    of history: b from the largest run's nights from ``from_night`` on (the monitoring
    baseline is full by then), fixed and a from night 1 at every volume (less b x its history);
    then a night at ``target_per_day`` with ``target_days`` of history."""
    volumes = sorted(runs)
    largest = [r for r in runs[volumes[-1]] if not r["rerun"]]
    late = [r for r in largest if r["night"] >= from_night] or largest
    steps = sorted({k[4:] for r in largest for k in r if k.startswith("cpu:")} - {"all"})
    lines = [f"| step | fixed s | s per M requests of the night | s per M requests of history "
             f"| {target_per_day / 1e6:g} M/day x {target_days} days: s |", "|---|---|---|---|---|"]
    total = 0.0
    for step in steps:
        _, per_history = _line([r["history"] for r in late], [r.get(f"cpu:{step}", 0.0) for r in late])
        firsts = [next(r for r in runs[v] if r["night"] == 1) for v in volumes]
        fixed, per_request = _line([float(v) for v in volumes],
                                   [r.get(f"cpu:{step}", 0.0) - per_history * r["history"]
                                    for r in firsts])
        value = fixed + per_request * target_per_day + per_history * target_per_day * target_days
        total += value
        lines.append(f"| {step} | {fixed:.2f} | {per_request * 1e6:.2f} | "
                     f"{per_history * 1e6:.3f} | {value:.1f} |")
    lines.append(f"| all steps (ingest: see the text) | | | | {total:.1f} |")
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments; build and measure, or take one floor measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", choices=("measure", "floor", "steps", "fit"), default="measure")
    parser.add_argument("--per-day", type=int, default=150_000)
    parser.add_argument("--nights", type=int, default=6)
    parser.add_argument("--unique-pct", type=int, default=50)
    parser.add_argument("--rerun-last", action="store_true")
    parser.add_argument("--prefect-server", action="store_true",
                        help="run the nights against one long-lived `prefect server start`")
    parser.add_argument("--out", type=Path, default=REPO / "bench/out/volume")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--night-dir", type=Path)
    parser.add_argument("--project", type=Path)
    parser.add_argument("--date")
    parser.add_argument("--runs", type=Path, nargs="*", default=[],
                        help="fit: the results.json of runs at different volumes")
    args = parser.parse_args()
    if args.mode == "floor":
        print(json.dumps(floor(args.db, args.night_dir)))
        return
    if args.mode == "fit":
        loaded = [json.loads(path.read_text()) for path in args.runs]
        # night 1's history is its own volume
        runs = {int(rows[0].get("per_day", rows[0]["history"])): rows for rows in loaded}
        print(extrapolate(runs))
        return
    if args.mode == "steps":
        print(json.dumps(steps(args.db, args.project, args.date)))
        return
    results = measure(args.out.resolve(), args.nights, args.per_day, args.unique_pct,
                      args.rerun_last, args.prefect_server)
    text = table(results, args.per_day)
    (args.out / "results.md").write_text(text + "\n")
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
