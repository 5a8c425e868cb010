"""What the MLflow mirror costs, against the bare MLflow writes of the same content.

Builds a project without Prefect: sample data over ``--days`` nights, ingested, prompts
registered, the A/B analysis of every night, and one offline eval per prompt against the demo
model (in-process). Then, each into its own fresh SQLite MLflow store in a temporary folder:

- baseline: the same runs and prompt versions written with plain ``MlflowClient`` calls
  (create_run, log_batch, log_artifacts, set_terminated; create_prompt_version, set_prompt_alias),
  no lookups, no diffing: the least any mirror of this content must spend in MLflow;
- the mirror's first attempt (``run_mirror``), a second attempt with nothing new (ledger), and a
  ``--full`` attempt (every item looked up in MLflow, nothing written).

Both stores are opened (MLflow's migrations) before the clock starts; that cost is printed apart.

    python bench/mlflow_mirror.py [--days 30] [--users 300] [--repeats 3]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flywheel.tasks.ab import run_nightly_analysis
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.evals import call_options, run_calls, run_eval
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.mlflow_mirror import run_mirror
from flywheel.tasks.mlflow_mirror._collect import collect
from flywheel.tasks.mlflow_mirror._records import RunRecord
from flywheel.tasks.registry import folder_files, sync_paths
from flywheel.tasks.sample_data import SampleSpec, write_sample_data


def build_project(root: Path, days: int, users: int) -> Path:
    """Sample project with ingested logs, registered prompts, A/B nights and two evals."""
    spec = SampleSpec(days=days, users=users)
    write_sample_data(root, spec)
    settings = load_settings(db=root / "f.duckdb", project_dir=root)
    ingest_paths(settings, [root / "landing"])
    with connect(settings.db_path) as con:
        sync_paths(con, folder_files(root / "prompts"), folder=root / "prompts", base=root)
    for day in range(days):
        run_nightly_analysis(settings, spec.start + timedelta(days=day))
    with DemoModelServer() as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        settings = load_settings(db=root / "f.duckdb", project_dir=root)
        options = call_options(settings)
        for prompt in ("support", "summarizer"):
            run_eval(settings, root / "evalsets" / f"{prompt}.jsonl",
                     [f"{prompt}@production", f"{prompt}@candidate"],
                     execute=lambda specs, label: run_calls(list(specs), options))
        del os.environ["OPENAI_BASE_URL"]
    return root / "f.duckdb"


def baseline(uri: str, settings_root: Path) -> tuple[float, float, int]:
    """Write the plan's content with plain MLflow calls; returns (wall s, CPU s, runs)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    settings = load_settings(db=settings_root / "f.duckdb", project_dir=settings_root,
                             mlflow_tracking_uri=uri)
    plan = collect(settings, "baseline", full=True)
    client = MlflowClient(tracking_uri=uri)
    root = Path(uri[len("sqlite:///"):]).parent / "mlartifacts"
    started, cpu = time.perf_counter(), time.process_time()
    experiments: dict[str, str] = {}
    runs = 0

    def write(record: RunRecord, parent: str | None = None) -> str:
        nonlocal runs
        if record.experiment not in experiments:
            experiments[record.experiment] = client.create_experiment(
                record.experiment, artifact_location=(root / record.experiment).as_uri())
        tags = dict(record.tags)
        if parent:
            tags["mlflow.parentRunId"] = parent
        run_id = client.create_run(experiments[record.experiment], start_time=record.start_ms,
                                   tags=tags, run_name=record.name).info.run_id
        client.log_batch(run_id, metrics=[Metric(k, v, record.end_ms, 0)
                                          for k, v in record.metrics.items()],
                         params=[Param(k, v) for k, v in record.params.items()])
        with tempfile.TemporaryDirectory() as folder:
            for relative, content in record.artifacts.items():
                path = Path(folder) / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            client.log_artifacts(run_id, folder)
        client.set_terminated(run_id, "FINISHED", end_time=record.end_ms)
        runs += 1
        return run_id

    for _, record in plan.runs:
        parent = write(record)
        for child in record.children:
            write(child, parent)
    for name, versions in plan.prompts.items():
        client.create_prompt(name)
        numbers = {}
        for version in versions:
            created = client.create_prompt_version(name, template=version.messages,
                                                   description=version.description,
                                                   tags=version.tags,
                                                   model_config=version.model_config)
            numbers[version.hash] = created.version
        for label, digest in plan.labels.get(name, {}).items():
            client.set_prompt_alias(name, label, int(numbers[digest]))
    return time.perf_counter() - started, time.process_time() - cpu, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flywheel-bench-mlflow-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        db = build_project(root / "project", args.days, args.users)
        print(f"project: {args.days} nights, {args.users} users, built in "
              f"{time.perf_counter() - started:.1f} s", flush=True)

        started = time.perf_counter()
        from mlflow import MlflowClient
        import_s = time.perf_counter() - started
        load_before = os.getloadavg()[0]

        def fresh_store(name: str) -> tuple[str, float]:
            (root / name).mkdir()
            uri = f"sqlite:///{root / name}/mlflow.db"
            opened = time.perf_counter()
            MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
            return uri, time.perf_counter() - opened

        # Alternate baseline and mirror, each into a fresh store, best of --repeats: on a shared
        # machine the order and the neighbours move single timings by tens of percent.
        base_times, first_times, base_cpu, first_cpu, migrations = [], [], [], [], []
        for rep in range(args.repeats):
            uri, opened = fresh_store(f"baseline-{rep}")
            migrations.append(opened)
            seconds, cpu, runs = baseline(uri, root / "project")
            base_times.append(seconds)
            base_cpu.append(cpu)
            uri, opened = fresh_store(f"mirror-{rep}")
            migrations.append(opened)
            settings = load_settings(db=db, project_dir=root / "project", mlflow_tracking_uri=uri)
            started, cpu = time.perf_counter(), time.process_time()
            first = run_mirror(settings)
            first_times.append(time.perf_counter() - started)
            first_cpu.append(time.process_time() - cpu)
            assert first["status"] == "ok" and first["runs_created"] == runs, first
        timings = {}
        for label, full in (("second mirror, nothing new", False),
                            ("--full re-check, nothing to write", True)):
            started = time.perf_counter()
            result = run_mirror(settings, full=full)
            timings[label] = (time.perf_counter() - started, result)
            assert result["status"] == "ok" and result["runs_created"] == 0, result

        base_s = min(base_times)
        started = time.perf_counter()
        collect(settings, "not-synced-yet")
        collect_s = time.perf_counter() - started
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
              f"(shared), Python {platform.python_version()}, load average before/after "
              f"{load_before:.2f}/{os.getloadavg()[0]:.2f}")
        print(f"store: SQLite tracking store, artifacts on local disk; {runs} runs "
              f"({args.days} nights x 2 A/B experiments, 2 evals x 3 runs), "
              f"{sum(len(v) for v in collect(settings, 'x').prompts.values())} prompt versions")
        print(f"import mlflow: {import_s:.2f} s; open a new SQLite store (migrations): "
              f"{min(migrations):.2f}-{max(migrations):.2f} s")
        print(f"| what | seconds (best of {args.repeats}) | vs baseline |\n|---|---|---|\n"
              f"| baseline: plain MlflowClient writes, no lookups | {base_s:.2f} | 1.00x |\n"
              f"| first mirror: prompts, aliases, runs, ledger | {min(first_times):.2f} | "
              f"{min(first_times) / base_s:.2f}x |")
        print(f"| of which reading DuckDB and building the records (`collect`) | {collect_s:.2f} | "
              f"{collect_s / base_s:.2f}x |")
        for label, (seconds, result) in timings.items():
            print(f"| {label} (unchanged runs {result['runs_unchanged']}) | {seconds:.2f} | "
                  f"{seconds / base_s:.2f}x |")
        print(f"all wall timings: baseline {[round(s, 2) for s in base_times]}, "
              f"first mirror {[round(s, 2) for s in first_times]}")
        print(f"CPU seconds (steadier on a shared machine), best of {args.repeats}: baseline "
              f"{min(base_cpu):.2f}, first mirror {min(first_cpu):.2f} "
              f"({min(first_cpu) / min(base_cpu):.2f}x)")

if __name__ == "__main__":
    main()
