"""Benchmark: one night's promotion reports on the sample data, by phase, against the A/B
analysis of the same night (the step before it) as the baseline.

    python bench/reports.py [--users 8000] [--days 10] [--repeats 3]

Generates the sample project (not timed), ingests it, registers the prompts, runs the A/B
analysis for every night (the report's history needs them), then times, best of --repeats:
the baseline (``run_nightly_analysis`` of the last night) and the report's phases — gather
(SQL over the store), redact, decide, charts (matplotlib SVG), render (Jinja2) — and the whole
``build_night`` (which also writes the files and stores the decisions). Figures go to
BENCHMARKS.md, section "Promotion reports".
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flywheel.tasks.ab import run_nightly_analysis
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.registry import folder_files, sync_paths
from flywheel.tasks.reports import (
    Night,
    build_night,
    decide,
    evidence_of,
    gather,
    load_rules,
    redact_tree,
    redactor_of,
    render,
    report_charts,
)
from flywheel.tasks.sample_data import SampleSpec, write_sample_data


def best(fn: Any, repeats: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    spec = SampleSpec(users=args.users, days=args.days)
    write_sample_data(root, spec)
    settings = load_settings(db=root / "flywheel.duckdb", project_dir=root)
    ingest_paths(settings, [root / "landing"])
    with connect(settings.db_path) as con:
        sync_paths(con, folder_files(root / "prompts"), base=root, by="bench")
        requests = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    last = spec.start + timedelta(days=args.days - 1)
    for day in range(args.days - 1):
        run_nightly_analysis(settings, spec.start + timedelta(days=day))

    baseline, _ = best(lambda: run_nightly_analysis(settings, last), args.repeats)
    rules, night, redactor = load_rules(root), Night(last), redactor_of(settings.redact)

    def gathered() -> list[dict[str, Any]]:
        with connect(settings.db_path) as con:
            return gather(con, night, rules)

    t_gather, raw = best(gathered, args.repeats)
    t_redact, clean = best(lambda: [redact_tree(e, redactor) for e in raw], args.repeats)
    t_decide, decisions = best(lambda: [decide(evidence_of(e), rules) for e in clean], args.repeats)
    t_charts, charts = best(lambda: [report_charts(e) for e in clean], args.repeats)
    charts_drawn = sum(len(c["experiments"].get(k, {})) for c in charts
                       for k in c["experiments"]) + sum(len(c["evals"]) for c in charts)
    total, result = best(lambda: build_night(settings, last), args.repeats)
    html = [Path(p["html"]).read_text() for p in result["prompts"]]

    def rendered() -> None:  # the templates only, on the contexts build_night made
        for e, d, c in zip(clean, decisions, charts, strict=True):
            context = {**e, "decision": d, "charts": c, "commands": {"command": None,
                       "undo": None, "note": ""}, "chart_files": {"experiments": {
                           k: dict.fromkeys(v, "x.svg") for k, v in c["experiments"].items()},
                           "evals": dict.fromkeys(c["evals"], "x.svg"), "promotion": {}},
                       "candidates": [{**cand, "verdict": v} for cand, v in
                                      zip(e["candidates"], d.candidates, strict=True)],
                       "project_dir": str(root), "html_file": "x.html", "md_file": "x.md",
                       "demo_notice": ""}
            render("report.html.j2", context)
            render("report.md.j2", context)

    t_render, _ = best(rendered, args.repeats)
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {load[0]:.1f}")
    print(f"sample: {args.users:,} users, {args.days} days, {requests:,} requests; "
          f"night {last}; {len(result['prompts'])} reports, {charts_drawn} charts; "
          f"HTML {', '.join(f'{len(h) / 1024:.0f} KiB' for h in html)}")
    print(f"{'phase':<34}{'seconds':>9}{'× baseline':>12}")
    rows = [("baseline: A/B analysis of the night", baseline), ("gather (SQL)", t_gather),
            ("redact", t_redact), ("decide", t_decide), ("charts (matplotlib SVG)", t_charts),
            ("render (Jinja2, HTML + Markdown)", t_render),
            ("build_night (all, files, decisions)", total)]
    for name, seconds in rows:
        print(f"{name:<34}{seconds:>9.3f}{seconds / baseline:>12.2f}")


if __name__ == "__main__":
    main()
