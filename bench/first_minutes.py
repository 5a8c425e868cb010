"""A user's first minutes: whole commands in fresh processes, the way a user runs them.

    python bench/first_minutes.py [--runs 3] [--only evals|ingest] [--no-promptfoo]

Every measured command is started as its own process (``flywheel`` from this interpreter's
``bin/``), with a fresh, empty ``HOME`` and ``PREFECT_HOME`` (temporary folders made before the
clock starts) and ``PREFECT_API_URL`` unset (every ``PREFECT_*`` and ``FLYWHEEL_*`` variable of
the caller is dropped). Wall time runs from just before the process is started to just after it
is reaped (``os.wait4``); CPU (user + system) and peak memory (the largest single process among
those it waited for) are the kernel's accounting of the reaped child. Commands of one
comparison run in turn (A B C ... A B C ...), and ratios are taken run by run, then the median.

A. Offline eval: ``--cases`` cases x 2 prompt versions (support v1 and v2-friendly) against the
   demo model (``python -m flywheel.tasks.demo_model``, its own process, loopback HTTP,
   ``--latency-ms`` per call), concurrency ``--concurrency``. Ideal = calls x latency /
   concurrency. Measured:

   - the bare ``openai.AsyncOpenAI`` client: a small script (written by this bench) making the
     same chat-completion calls (messages rendered up front) under an asyncio semaphore;
   - promptfoo through ``npx`` (pinned version, installed once up front into a persistent npm
     cache so that no download is timed), the same prompts, cases and a ``contains`` check, its
     openai provider pointed at the demo model (``apiBaseUrl``);
   - ``flywheel eval run --evalset FILE --prompt support@production --prompt support@candidate
     --concurrency N --json`` cold: a fresh DuckDB file in which only ``flywheel prompts sync``
     has run (empty cache);
   - the cached rerun: the same command again on that file (every answer cached).

B. Ingest: a native requests JSON Lines file (``--requests`` realistic records, the generator of
   ``bench/ingest.py``) and its feedback file (every fifth request). ``flywheel ingest FILE
   --json`` into a fresh DuckDB file, then the same command again (nothing new), each against a
   fresh ``python -c`` process running ``duckdb.connect(db).execute("create table t as select *
   from read_json(?)", [file])`` into a fresh file. The same for the folder with both files
   (baseline: both files into two tables).

Prints a Markdown table for BENCHMARKS.md. One run at the defaults takes about 2-3 minutes
(after the one-off promptfoo install).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from flywheel.tasks.db import sql_text
from flywheel.tasks.registry import render_messages
from flywheel.tasks.sample_data import _content as content

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FLYWHEEL = str(BIN / "flywheel")
PROMPTFOO = "promptfoo@0.118.17"
NPM_CACHE = Path.home() / ".cache" / "flywheel-bench" / "npm"
PROMPTS = ("v1", "v2-friendly")  # support@production, support@candidate
REFS = ("support@production", "support@candidate")

BARE_CLIENT = '''"""The bare client: every call of the eval, AsyncOpenAI, a semaphore, nothing else."""
import asyncio
import json
import sys

from openai import AsyncOpenAI


async def main() -> None:
    calls = json.loads(open(sys.argv[1]).read())
    gate = asyncio.Semaphore(int(sys.argv[2]))
    client = AsyncOpenAI()  # OPENAI_BASE_URL, OPENAI_API_KEY

    async def one(call):
        async with gate:
            reply = await client.chat.completions.create(
                model=call["model"], messages=call["messages"], **call["params"])
            return reply.choices[0].message.content

    outputs = await asyncio.gather(*(one(c) for c in calls))
    print(json.dumps({"calls": len(outputs), "empty": sum(1 for o in outputs if not o)}))


asyncio.run(main())
'''

RAW_READ = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "[con.execute(f'create table t{i} as select * from read_json(?)', [p]) "
            "for i, p in enumerate(sys.argv[2:])]")


@dataclass
class Run:
    """One finished process: wall and CPU seconds, peak RSS in MB."""

    wall: float
    cpu: float
    peak_mb: float


@dataclass
class Series:
    """Every run of one command."""

    label: str
    runs: list[Run] = field(default_factory=list)

    def walls(self) -> list[float]:
        return [r.wall for r in self.runs]


class Bench:
    """Starts whole commands in fresh processes with a fresh HOME and PREFECT_HOME each."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.count = 0
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("PREFECT_", "FLYWHEEL_", "XDG_", "OPENAI_", "PROMPTFOO_"))
                and k not in {"VIRTUAL_ENV", "PYTHONPATH", "NPM_CONFIG_CACHE", "npm_config_cache"}}
        keep["PATH"] = f"{BIN}{os.pathsep}{keep.get('PATH', '')}"
        self.base_env = keep

    def fresh_env(self, extra: dict[str, str]) -> dict[str, str]:
        self.count += 1
        home = self.work / "homes" / f"{self.count:03d}"
        (home / ".prefect").mkdir(parents=True)
        return {**self.base_env, "HOME": str(home), "PREFECT_HOME": str(home / ".prefect"), **extra}

    def run(self, argv: Sequence[str], *, cwd: Path, extra: dict[str, str] | None = None,
            check: Callable[[str], None] | None = None) -> Run:
        """Run one command to its end; raise with its output if it fails or ``check`` does."""
        env = self.fresh_env(extra or {})
        out_path = self.work / "logs" / f"{self.count:03d}.out"
        err_path = out_path.with_suffix(".err")
        out_path.parent.mkdir(exist_ok=True)
        with out_path.open("wb") as out, err_path.open("wb") as err:
            started = time.perf_counter()
            process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err)
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
        stdout = out_path.read_text(errors="replace")
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {process.returncode}:\n"
                             f"{stdout[-2000:]}\n{err_path.read_text(errors='replace')[-3000:]}")
        if check is not None:
            check(stdout)
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


# ---------------------------------------------------------------------------------- A: evals


def support_cases(n: int) -> list[dict]:
    """``n`` support cases cycling through the policy bank, each with its own order id."""
    cases = []
    for i in range(n):
        question, _, corrected = content.SUPPORT_QA[i % len(content.SUPPORT_QA)]
        order_id = f"B-{i:06d}"
        cases.append({"id": f"case-{i:05d}", "vars": {"question": question, "order_id": order_id},
                      "reference": corrected,
                      "assert": [{"type": "similar", "threshold": 0.75},
                                 {"type": "contains", "value": order_id}],
                      "tags": [f"group-{i % 5}"]})
    return cases


def start_model(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    """The demo model in its own process; returns it and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flywheel.tasks.demo_model", "--port", "0", "--latency-ms",
         str(latency_ms)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("listening on"):
        process.kill()
        raise SystemExit(f"the demo model did not start: {line!r}")
    return process, line.split()[-1]


def promptfoo_config(specs: list[dict], cases: list[dict], base_url: str,
                     concurrency: int) -> dict:
    """The same eval for promptfoo: chat prompts (system, few-shot, template), one provider."""
    for case in cases:  # the chat prompts are JSON with the variables rendered in raw
        assert not any(ch in str(v) for v in case["vars"].values() for ch in '"\\\n')
    prompts = []
    for name, spec in zip(PROMPTS, specs, strict=True):
        messages = [{"role": "system", "content": spec["system"]}] if spec.get("system") else []
        messages += [{"role": m["role"], "content": m["content"]} for m in spec.get("few_shot") or []]
        messages.append({"role": "user", "content": spec["template"]})
        prompts.append({"raw": json.dumps(messages), "label": f"support-{name}",
                        "config": spec["params"]})  # merged into the provider's config
    assert all(s["model"] == specs[0]["model"] for s in specs)
    return {
        "description": "flywheel bench: support v1 vs v2-friendly",
        "prompts": prompts,
        "providers": [{"id": f"openai:chat:{specs[0]['model']}",
                       "config": {"apiBaseUrl": base_url, "apiKey": "bench-key"}}],
        "tests": [{"description": c["id"], "vars": c["vars"],
                   "assert": [{"type": "contains", "value": c["vars"]["order_id"]}]}
                  for c in cases],
        "evaluateOptions": {"maxConcurrency": concurrency},
        "sharing": False,
    }


def install_promptfoo() -> None:
    """Fill the persistent npm cache once, so that no download is ever timed."""
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npx", "-y", PROMPTFOO, "--version"], check=True, capture_output=True,
                   env={**os.environ, "NPM_CONFIG_CACHE": str(NPM_CACHE)}, timeout=1800)


def bench_evals(bench: Bench, args: argparse.Namespace) -> tuple[list[Series], dict]:
    """Section A; returns the series (bare, promptfoo, cold, cached) and facts for the text."""
    work = bench.work / "evals"
    work.mkdir()
    cases = support_cases(args.cases)
    specs = [yaml.safe_load((REPO / "prompts" / "support" / f"{n}.yaml").read_text())
             for n in PROMPTS]
    evalset = work / "support.jsonl"
    evalset.write_text("".join(json.dumps(c) + "\n" for c in cases))
    calls = [{"model": spec["model"], "messages": render_messages(spec, case["vars"]),
              "params": spec["params"]} for spec in specs for case in cases]
    (work / "calls.json").write_text(json.dumps(calls))
    (work / "bare_client.py").write_text(BARE_CLIENT)

    template = work / "template"
    template.mkdir()
    subprocess.run([FLYWHEEL, "--db", str(template / "flywheel.duckdb"), "prompts", "sync",
                    str(REPO / "prompts"), "--json"], cwd=template, check=True,
                   capture_output=True, env=bench.fresh_env({}))

    server, base_url = start_model(args.latency_ms)
    api = {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "bench-key"}
    npx = {"NPM_CONFIG_CACHE": str(NPM_CACHE), "npm_config_update_notifier": "false",
           # no internet here: telemetry and the update check would only wait on the network
           "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
           "PROMPTFOO_FAILED_TEST_EXIT_CODE": "0"}

    def check_bare(out: str) -> None:
        got = json.loads(out.strip().splitlines()[-1])
        assert got == {"calls": len(calls), "empty": 0}, got

    def check_promptfoo(out: str) -> None:
        counts = {k: int(n) for k, n in re.findall(r"^(Successes|Failures|Errors): (\d+)", out, re.M)}
        assert counts.get("Errors") == 0, out[-1500:]
        assert counts.get("Successes", 0) + counts.get("Failures", 0) == len(calls), counts

    def check_eval(http: int) -> Callable[[str], None]:
        def check(out: str) -> None:
            got = json.loads(out)
            assert got["calls"]["total"] == len(calls), got["calls"]
            assert got["calls"]["http_attempts"] == http and got["errors"]["api"] == 0, got["calls"]
        return check

    series = [Series("bare `AsyncOpenAI` client, semaphore (a Python script)"),
              Series(f"promptfoo {PROMPTFOO.split('@')[1]} (`npx promptfoo eval --no-cache -j "
                     f"{args.concurrency}`)"),
              Series("`flywheel eval run`, cold (fresh DB, empty cache)"),
              Series("`flywheel eval run`, cached rerun (0 HTTP calls)")]
    command = [FLYWHEEL, "eval", "run", "--evalset", str(evalset), "--prompt", REFS[0],
               "--prompt", REFS[1], "--concurrency", str(args.concurrency), "--json"]
    try:
        if args.promptfoo:
            (work / "promptfooconfig.json").write_text(
                json.dumps(promptfoo_config(specs, cases, base_url, args.concurrency), indent=1))
        for i in range(args.runs):
            series[0].runs.append(bench.run(
                [sys.executable, str(work / "bare_client.py"), str(work / "calls.json"),
                 str(args.concurrency)], cwd=work, extra=api, check=check_bare))
            if args.promptfoo:
                series[1].runs.append(bench.run(
                    ["npx", "-y", PROMPTFOO, "eval", "-c", str(work / "promptfooconfig.json"),
                     "--no-cache", "--max-concurrency", str(args.concurrency), "--no-progress-bar"],
                    cwd=work, extra={**api, **npx}, check=check_promptfoo))
            project = work / f"project-{i}"
            project.mkdir()
            shutil.copy(template / "flywheel.duckdb", project / "flywheel.duckdb")
            series[2].runs.append(bench.run(command, cwd=project, extra=api,
                                            check=check_eval(len(calls))))
            series[3].runs.append(bench.run(command, cwd=project, extra=api, check=check_eval(0)))
            print(f"  evals run {i + 1}/{args.runs}: "
                  + ", ".join(f"{s.runs[-1].wall:.2f} s" for s in series if s.runs),
                  file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    if not args.promptfoo:
        series.pop(1)
    ideal = len(calls) * args.latency_ms / 1000 / args.concurrency
    return series, {"calls": len(calls), "ideal": ideal}


# --------------------------------------------------------------------------------- B: ingest


def bench_ingest(bench: Bench, args: argparse.Namespace) -> tuple[list[Series], dict]:
    """Section B; returns the series and facts for the text."""
    work = bench.work / "ingest"
    logs = work / "logs"
    logs.mkdir(parents=True)
    con = duckdb.connect()
    params = {"first": 0, "n": args.requests}
    requests, feedback = logs / "requests.jsonl", logs / "feedback.jsonl"
    con.execute(sql_text("bench/write_requests"), {**params, "path": str(requests)})
    con.execute(sql_text("bench/write_feedback"), {**params, "path": str(feedback)})
    con.close()
    n_feedback = sum(1 for _ in feedback.open("rb"))

    def check_ingest(requests: int, feedback: int) -> Callable[[str], None]:
        def check(out: str) -> None:
            got = json.loads(out)
            assert got["files_failed"] == 0 and got["rejected"] == 0, got
            assert (got["requests_inserted"], got["feedback_inserted"]) == (requests, feedback), got
        return check

    series = [Series("baseline: `read_json` of the requests file, fresh `python -c`"),
              Series("`flywheel ingest requests.jsonl --json`, fresh DB"),
              Series("`flywheel ingest requests.jsonl --json` again, nothing new"),
              Series("baseline: `read_json` of both files (two tables), fresh `python -c`"),
              Series("`flywheel ingest FOLDER --json` (requests + feedback), fresh DB"),
              Series("`flywheel ingest FOLDER --json` again, nothing new")]
    python = str(BIN / "python")
    for i in range(args.runs):
        run_dir = work / f"run-{i}"
        run_dir.mkdir()
        series[0].runs.append(bench.run([python, "-c", RAW_READ, str(run_dir / "raw1.duckdb"),
                                         str(requests)], cwd=run_dir))
        db = str(run_dir / "one.duckdb")
        series[1].runs.append(bench.run([FLYWHEEL, "--db", db, "ingest", str(requests), "--json"],
                                        cwd=run_dir, check=check_ingest(args.requests, 0)))
        series[2].runs.append(bench.run([FLYWHEEL, "--db", db, "ingest", str(requests), "--json"],
                                        cwd=run_dir, check=check_ingest(0, 0)))
        series[3].runs.append(bench.run([python, "-c", RAW_READ, str(run_dir / "raw2.duckdb"),
                                         str(requests), str(feedback)], cwd=run_dir))
        db = str(run_dir / "both.duckdb")
        series[4].runs.append(bench.run([FLYWHEEL, "--db", db, "ingest", str(logs), "--json"],
                                        cwd=run_dir, check=check_ingest(args.requests, n_feedback)))
        series[5].runs.append(bench.run([FLYWHEEL, "--db", db, "ingest", str(logs), "--json"],
                                        cwd=run_dir, check=check_ingest(0, 0)))
        print(f"  ingest run {i + 1}/{args.runs}: "
              + ", ".join(f"{s.runs[-1].wall:.2f} s" for s in series), file=sys.stderr, flush=True)
    size = (requests.stat().st_size + feedback.stat().st_size) / 1e6
    return series, {"feedback": n_feedback, "mb": size}


# ----------------------------------------------------------------------------------- output


def fmt(values: Sequence[float], unit: str = " s") -> str:
    return (f"{statistics.median(values):.2f}{unit} ({min(values):.2f}–{max(values):.2f})"
            if values else "–")


def ratio(a: Series, b: Series) -> list[float]:
    return [x.wall / y.wall for x, y in zip(a.runs, b.runs, strict=True)]


def table(series: Sequence[Series], ideal: float | None = None) -> str:
    head = "| command | wall s, median (min–max) | CPU s, median | peak MB, median |"
    rows = [head, "|---|---|---|---|"]
    if ideal is not None:
        rows[0] = head + " × ideal |"
        rows[1] += "---|"
    for s in series:
        row = (f"| {s.label} | {fmt(s.walls(), '')} | {statistics.median(r.cpu for r in s.runs):.2f} "
               f"| {statistics.median(r.peak_mb for r in s.runs):.0f} |")
        if ideal is not None:
            row += f" {statistics.median(s.walls()) / ideal:.2f} |"
        rows.append(row)
    return "\n".join(rows)


def ratios(items: Sequence[tuple[str, list[float], str]]) -> str:
    rows = ["| ratio (run by run) | median (min–max) | target |", "|---|---|---|"]
    rows += [f"| {name} | {fmt(values, '×')} | {target} |" for name, values, target in items]
    return "\n".join(rows)


def commit() -> str:
    out = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %cs"],
                         capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (out.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty else "")


def main() -> None:
    """Run the benchmark and print the Markdown."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of every command (default 3)")
    parser.add_argument("--only", choices=("evals", "ingest"))
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--no-promptfoo", dest="promptfoo", action="store_false",
                        help="leave promptfoo out (no Node.js)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    if args.promptfoo and args.only != "ingest":
        print(f"installing {PROMPTFOO} into {NPM_CACHE} (once; not timed)", file=sys.stderr)
        install_promptfoo()
    work = Path(tempfile.mkdtemp(prefix="flywheel-first-minutes-"))
    bench = Bench(work)
    started, at_commit = time.perf_counter(), commit()
    load_before = os.getloadavg()[0]
    out = []
    try:
        if args.only != "ingest":
            evals, facts = bench_evals(bench, args)
            by = {s.label.split(" ")[0]: s for s in evals}
            bare, cold, cached = evals[0], evals[-2], evals[-1]
            items = [("flywheel cold / bare client", ratio(cold, bare), "≤ 1.25×")]
            if args.promptfoo:
                items.append(("flywheel cold / promptfoo", ratio(cold, by["promptfoo"]), "≤ 0.5×"))
            items.append(("cached rerun / bare client", ratio(cached, bare), ""))
            out.append(f"**A. Offline eval**: {args.cases:,} cases × 2 prompt versions = "
                       f"{facts['calls']:,} calls to the demo model ({args.latency_ms:g} ms per "
                       f"call), concurrency {args.concurrency}; ideal {facts['ideal']:.2f} s.\n\n"
                       + table(evals, facts["ideal"]) + "\n\n" + ratios(items)
                       + f"\n\nCached rerun: {fmt(cached.walls())} (target ≤ 2.5 s).\n")
        if args.only != "evals":
            ingest, facts = bench_ingest(bench, args)
            items = [("ingest requests, cold / baseline", ratio(ingest[1], ingest[0]), "≤ 4×"),
                     ("ingest requests, rerun / baseline", ratio(ingest[2], ingest[0]), "≤ 3×"),
                     ("ingest folder, cold / baseline", ratio(ingest[4], ingest[3]), ""),
                     ("ingest folder, rerun / baseline", ratio(ingest[5], ingest[3]), "")]
            out.append(f"**B. Ingest**: {args.requests:,} requests + {facts['feedback']:,} "
                       f"feedback records ({facts['mb']:.1f} MB of JSON Lines).\n\n"
                       + table(ingest) + "\n\n" + ratios(items) + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]
    print(f"Measured {dt.date.today().isoformat()} at commit {at_commit}; {os.cpu_count()} cores "
          f"({platform.machine()}), {platform.system()}, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}; {args.runs} runs of each command; load average (1 min) "
          f"{load_before:.1f} before, {load_after:.1f} after; this bench took "
          f"{time.perf_counter() - started:.0f} s.\n")
    print("\n".join(out))
    if args.keep:
        print(f"work folder: {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
