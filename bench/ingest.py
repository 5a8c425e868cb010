"""Ingest throughput against DuckDB's raw JSON reader, measured side by side on the same files.

    python bench/ingest.py [--requests 1000000] [--files 10] [--out bench/out/ingest]

Writes the request files (and feedback on every fifth request) once, then, each in a fresh
process so that peak RSS is its own: (1) the baseline ``CREATE TABLE t AS SELECT * FROM
read_json(files)``; (2) ``flywheel ingest`` of the same folder into a new DuckDB file. Then the
same for a copy of the files where 0.1% of lines are malformed (baseline: read_json with
ignore_errors). Prints rows/s, the throughput ratio and peak RSS of each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flywheel.tasks.db import sql_text  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
mode, db, folder = sys.argv[1], sys.argv[2], sys.argv[3]
files = sorted(str(p) for p in __import__('pathlib').Path(folder).rglob('*.jsonl'))
t0 = time.perf_counter()
if mode.startswith('bench/raw'):
    import duckdb
    from flywheel.tasks.db import sql_text
    con = duckdb.connect(db)
    for kind in ('requests', 'feedback'):
        con.execute('DROP TABLE IF EXISTS t')
        con.execute(sql_text(mode), {{'paths': [f for f in files if kind in f]}})
    con.close()
else:
    from flywheel.tasks.config import load_settings
    from flywheel.tasks.ingest import ingest_paths
    s = ingest_paths(load_settings(db=db, project_dir=folder), [folder])
    assert s.files_failed == 0, s.failures
seconds = time.perf_counter() - t0
print(json.dumps({{'seconds': seconds, 'max_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def write_files(folder: Path, n_requests: int, n_files: int) -> int:
    """Write the clean file set; returns the number of records (requests + feedback)."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    per_file = n_requests // n_files
    for f in range(n_files):
        params = {"first": f * per_file, "n": per_file}
        con.execute(sql_text("bench/write_requests"), {**params, "path": str(folder / f"requests-{f:03}.jsonl")})
        con.execute(sql_text("bench/write_feedback"), {**params, "path": str(folder / f"feedback-{f:03}.jsonl")})
    con.close()
    return sum(sum(1 for _ in p.open("rb")) for p in folder.glob("*.jsonl"))


def corrupt_copy(clean: Path, target: Path, every: int = 1000) -> int:
    """Copy the file set, replacing one line in ``every`` by a malformed one; returns how many."""
    target.mkdir(parents=True, exist_ok=True)
    bad = 0
    for path in sorted(clean.glob("*.jsonl")):
        with path.open("rb") as src, (target / path.name).open("wb") as dst:
            for i, line in enumerate(src):
                if i % every == every // 2:
                    dst.write(line[: len(line) // 2] + b"\n")
                    bad += 1
                else:
                    dst.write(line)
    return bad


def measure(mode: str, folder: Path, work: Path) -> dict[str, float]:
    db = work / f"{mode.replace('/', '-')}-{folder.name}.duckdb"
    for leftover in (db, Path(str(db) + ".wal")):
        leftover.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(repo=str(REPO)), mode, str(db), str(folder)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "ingest")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    clean, dirty = args.out / "clean", args.out / "malformed"
    records = write_files(clean, args.requests, args.files)
    bad = corrupt_copy(clean, dirty)
    size_mb = sum(p.stat().st_size for p in clean.glob("*")) / 1e6
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"DuckDB {duckdb.__version__}; load average {os.getloadavg()[0]:.2f}")
    print(f"data: {args.requests:,} requests + feedback = {records:,} records in {2 * args.files} files, "
          f"{size_mb:,.0f} MB; malformed copy: {bad:,} bad lines ({bad / records:.2%})")
    rows = []
    for label, folder, baseline in (("clean", clean, "bench/raw_read"), ("0.1% malformed", dirty, "bench/raw_read_ignore_errors")):
        raw = measure(baseline, folder, args.out)
        ours = measure("flywheel", folder, args.out)
        ratio = raw["seconds"] / ours["seconds"]
        rows.append((label, raw, ours, ratio))
        print(f"{label:>15}: raw reader {records / raw['seconds']:>10,.0f} rows/s "
              f"({raw['seconds']:.2f} s, peak RSS {raw['max_rss_mb']:,.0f} MB) | flywheel ingest "
              f"{records / ours['seconds']:>10,.0f} rows/s ({ours['seconds']:.2f} s, peak RSS "
              f"{ours['max_rss_mb']:,.0f} MB) | ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
