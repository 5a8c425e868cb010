"""The ``offline-eval`` flow: prompt versions against an eval set, the calls fanned out on the
flow's task runner (threads by default, a Dask cluster with ``eval_task_runner = "dask"``), and
the nightly step that evaluates every prompt's ``candidate`` against its ``production``."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from typing import Any

from prefect import flow, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.flows import Flow
from prefect.futures import wait
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flywheel.flows.night import Night, StepIncomplete, default_run_date, error, publish_markdown
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.errors import FlywheelError, UsageError
from flywheel.tasks.evals import (
    BatchOutcome,
    CallOptions,
    CallSpec,
    EvalJob,
    call_options,
    candidate_jobs,
    format_summary,
    in_process_executor,
    nightly_run_id,
    run_calls,
    run_eval,
    stored_run,
)


class CallBatch:
    """The calls of one shard in an opaque box: Prefect walks lists, tuples, dicts and
    dataclasses given to a task looking for futures (every message of every call), not this."""

    __slots__ = ("specs",)

    def __init__(self, specs: list[CallSpec]) -> None:
        self.specs = specs


@task(name="eval-calls", cache_policy=NO_CACHE, persist_result=False)
def eval_calls(batch: CallBatch, options: CallOptions, progress: Any = None) -> BatchOutcome:
    """Make one shard of model calls (runs wherever the task runner puts it)."""
    return run_calls(batch.specs, options, progress)


class _Reporter:
    """Progress of a run: a rich bar on a terminal (stderr) and a Prefect progress artifact."""

    def __init__(self) -> None:
        console = Console(stderr=True)
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True,
                            disable=not console.is_terminal)
        self.artifact_id: Any = None
        self.task_id: Any = None
        self.last_push = 0.0

    def phase(self, label: str, total: int) -> None:
        if self.task_id is None:
            self.bar.start()
        else:
            self.bar.remove_task(self.task_id)
        self.task_id = self.bar.add_task(f"eval {label} calls", total=total)
        self.label = label
        self.total = total
        self._push(0, force=True)

    def update(self, done: int, *, force: bool = False) -> None:
        self.bar.update(self.task_id, completed=done)
        self._push(done, force=force)

    def _push(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_push < 1.0:
            return
        self.last_push = now
        percent = 100.0 * done / self.total if self.total else 100.0
        description = f"offline eval: {self.label} calls {done}/{self.total}"
        if self.artifact_id is None:
            self.artifact_id = create_progress_artifact(percent, key="offline-eval-progress",
                                                        description=description)
        else:
            update_progress_artifact(self.artifact_id, percent, description=description)

    def close(self) -> None:
        if self.task_id is not None:
            self.bar.stop()


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


class FanOut:
    """The executor of :func:`flywheel.tasks.evals._runner.run_eval`: splits calls into shards submitted
    to the flow's task runner, with the concurrency divided between the shards."""

    def __init__(self, options: CallOptions, shards: int, in_process: bool,
                 reporter: _Reporter) -> None:
        self.options = options
        self.shards = max(1, shards)
        self.in_process = in_process
        self.reporter = reporter

    def __call__(self, specs: Sequence[CallSpec], label: str) -> BatchOutcome:
        if not specs:
            return BatchOutcome([], 0)
        n = min(self.shards, len(specs))
        chunks = [list(specs[i::n]) for i in range(n)]
        options = CallOptions(**{**self.options.__dict__,
                                 "concurrency": math.ceil(self.options.concurrency / n)})
        counter = _Counter()
        self.reporter.phase(label, len(specs))
        futures = [eval_calls.submit(CallBatch(chunk), options,
                                     counter.add if self.in_process else None)
                   for chunk in chunks]
        pending = list(futures)
        while pending:
            pending = list(wait(pending, timeout=0.25).not_done)
            if not self.in_process:
                counter.value = sum(len(c) for c, f in zip(chunks, futures, strict=True)
                                    if f.state.is_final())
            self.reporter.update(counter.value)
        self.reporter.update(len(specs), force=True)
        outcomes = [f.result() for f in futures]
        by_key = {r.key: r for o in outcomes for r in o.results}
        return BatchOutcome([by_key[s.key] for s in specs], sum(o.http_attempts for o in outcomes),
                            sorted({pid for o in outcomes for pid in o.pids}))


def _shards(settings: Settings) -> int:
    if settings.eval_shards > 0:
        return settings.eval_shards
    return 4 * settings.eval_dask_workers if settings.eval_task_runner == "dask" else 1


@flow(name="offline-eval")
def offline_eval(
    evalset: str, prompts: list[str], db_path: str | None = None,
    project_dir: str | None = None, repeats: int = 1, concurrency: int | None = None,
    no_cache: bool = False, trigger: str = "manual", run_id: str | None = None,
) -> dict[str, Any]:
    """Evaluate prompt versions (REFs; the first is the baseline) on an eval set file."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    reporter = _Reporter()
    execute = FanOut(call_options(settings, concurrency), _shards(settings),
                     settings.eval_task_runner != "dask", reporter)
    try:
        summary = run_eval(settings, evalset, prompts, execute=execute, repeats=repeats,
                           no_cache=no_cache, trigger=trigger, run_id=run_id)
    finally:
        reporter.close()
    create_markdown_artifact(key="offline-eval", markdown=format_summary(summary),
                             description=f"Offline eval {summary['run_id']}")
    return summary


def offline_eval_flow(settings: Settings) -> Flow[..., dict[str, Any]]:
    """The flow with the task runner the settings ask for (``local`` threads or ``dask``)."""
    if settings.eval_task_runner == "local":
        return offline_eval
    if settings.eval_task_runner != "dask":
        raise UsageError(f"eval_task_runner must be 'local' or 'dask', "
                         f"not {settings.eval_task_runner!r}")
    from prefect_dask import DaskTaskRunner

    if settings.eval_dask_address:
        runner = DaskTaskRunner(address=settings.eval_dask_address)
    else:
        runner = DaskTaskRunner(cluster_kwargs={
            "n_workers": settings.eval_dask_workers, "threads_per_worker": 1,
            "processes": True, "dashboard_address": None})
    return offline_eval.with_options(task_runner=runner)


def run_offline_eval(settings: Settings, **parameters: Any) -> dict[str, Any]:
    """Run the flow (with the configured task runner) for these settings."""
    return offline_eval_flow(settings)(
        db_path=str(settings.db_path), project_dir=str(settings.project_dir), **parameters)


def _eval_job(settings: Settings, job: EvalJob, run_id: str) -> dict[str, Any]:
    """One nightly eval: the one the night already made (a re-run makes no second one), else
    in this thread on the local runner (no flow run of its own), else as the ``offline-eval``
    flow on its Dask task runner."""
    done = stored_run(settings, run_id)
    if done is not None:
        return done
    if settings.eval_task_runner != "local":
        return run_offline_eval(settings, evalset=str(job.evalset), prompts=job.refs,
                                trigger="nightly", run_id=run_id)
    summary = run_eval(settings, str(job.evalset), job.refs,
                       execute=in_process_executor(call_options(settings)), trigger="nightly",
                       run_id=run_id)
    publish_markdown("offline-eval", format_summary(summary), f"Offline eval {summary['run_id']}")
    return summary


def evaluate_candidates(night: Night) -> dict[str, Any]:
    """The night's step: every prompt with a ``candidate`` and a ``production`` label and an
    eval set: the candidate evaluated against production. A failed eval does not stop the
    others; the step fails after the others ran."""
    settings = night.settings
    plan = candidate_jobs(settings)
    runs, failed = [], []
    for job in plan.jobs:
        try:
            summary = _eval_job(settings, job, nightly_run_id(night.run_date, job))
        except FlywheelError as exc:
            error("offline eval of %s on %s failed: %s", job.prompt, job.evalset, exc)
            failed.append({"prompt": job.prompt, "evalset": str(job.evalset), "error": str(exc)})
            continue
        comparison = summary["comparisons"][0]
        runs.append({"prompt": job.prompt, "evalset": str(job.evalset),
                     "run_id": summary["run_id"], "candidate": comparison["candidate_hash"],
                     "production": comparison["baseline_hash"],
                     "pass_rate_diff": comparison["pass_rate_diff"],
                     "regressions": comparison["mcnemar"]["regressions"],
                     "improvements": comparison["mcnemar"]["improvements"],
                     "p_value": comparison["mcnemar"]["p_value"],
                     "demo_model": summary["demo_model"]})
    result = {"runs": runs, "failed": failed, "skipped": plan.skipped}
    if failed:
        raise StepIncomplete(f"offline evals failed for: "
                             f"{', '.join(f['prompt'] for f in failed)}", result)
    return result


@flow(name="offline-eval-nightly")
def offline_eval_nightly(db_path: str | None = None,
                         project_dir: str | None = None) -> dict[str, Any]:
    """The nightly evals (:func:`evaluate_candidates`) as a flow of their own."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    return evaluate_candidates(Night.of(settings, default_run_date()))
