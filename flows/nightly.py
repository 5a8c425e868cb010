"""The nightly flywheel: every step of :data:`~flywheel.flows.steps.STEPS` for one date, as a DAG.

Each step is a Prefect task submitted with the futures of the steps it waits for (``wait_for``),
so Prefect records the dependencies (the flow-run graph shows the DAG) and steps whose upstream
steps are done run at the same time, in threads of this one process (DuckDB allows one writing
process per file; each step opens its own connection). A step records its status, duration, row
counts and error (in the returned summary, the runs table and the logs) and never stops the steps
that do not need it: a step whose ``needs`` did not succeed is skipped with the reason. The night's
final state is failed when any step failed or was skipped; the summary of every step is still
returned (as the data of the failed state) and published as an artifact.

The whole night holds the database's nightly lock (``tasks/lock.py``), so two nightly runs on one
database never interleave, with or without a Prefect server. Every step is idempotent for its
date, so re-running a night (``flywheel nightly --date D``) replaces what that night derived.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import allow_failure

from flywheel.flows.night import (
    GivenSettings,
    Night,
    StepIncomplete,
    current_run_id,
    default_run_date,
    log,
    publish_markdown,
    resolve_settings,
)
from flywheel.flows.steps import STEPS, Step
from flywheel.tasks.db import held_open
from flywheel.tasks.errors import FlywheelError
from flywheel.tasks.lock import nightly_lock
from flywheel.tasks.runs import StepRecord, details_of, mark_crashed, now, record_step
from flywheel.tasks.serving.report import rollout_lines

__all__ = ["NightlyFailed", "StepOutcome", "default_run_date", "nightly_flywheel", "run_steps"]


class NightlyFailed(FlywheelError):
    """A night with failed or skipped steps; ``summary`` holds what every step did."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message, summary)
        self.message = message
        self.summary = summary

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class StepOutcome:
    """What one step of a night did."""

    step: str
    status: str  # ok | failed | skipped
    seconds: float
    error: str | None = None
    value: Any = None

    @property
    def ok(self) -> bool:
        """Whether the step succeeded."""
        return self.status == "ok"

    def entry(self) -> dict[str, Any]:
        """The step's line of the night's summary."""
        entry: dict[str, Any] = {"step": self.step, "status": self.status, "seconds": self.seconds}
        if self.error:
            entry["error"] = self.error
        return entry


class _Board:
    """The outcomes of a night's finished steps, shared by the step threads (opaque to Prefect,
    which would otherwise walk it for futures while other threads write to it)."""

    __slots__ = ("_lock", "_outcomes")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: dict[str, StepOutcome] = {}

    def put(self, outcome: StepOutcome) -> None:
        with self._lock:
            self._outcomes[outcome.step] = outcome

    def get(self, name: str) -> StepOutcome | None:
        with self._lock:
            return self._outcomes.get(name)


_LOG_FIELDS = frozenset({"event", "run_date", "step", "status", "seconds", "error", "reason"})


def _logfmt(fields: dict[str, Any]) -> str:
    def quoted(value: Any) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        return f'"{text}"' if (" " in text or "=" in text or not text) else text

    return " ".join(f"{key}={quoted(value)}" for key, value in fields.items() if value is not None)


def _log(night: Night, level: str, event: str, **fields: Any) -> None:
    """One structured log line (logfmt text; the same fields as record attributes)."""
    payload = {"event": event, "run_date": night.run_date.isoformat(), **fields}
    log(level, "%s", _logfmt(payload), extra={"flywheel": payload})


def _record(night: Night, record: StepRecord) -> None:
    try:
        record_step(night.settings.db_path, record, timeout_s=night.settings.db_lock_timeout_s)
    except Exception as exc:  # bookkeeping never fails the night
        _log(night, "warning", "runs_table_write_failed", step=record.step, error=str(exc))


def _skip_reason(step: Step, board: _Board) -> str | None:
    blocked = [(name, outcome.status) for name in step.needs
               if (outcome := board.get(name)) is None or not outcome.ok]
    if not blocked:
        return None
    return "needs " + ", ".join(f"{name} ({status})" for name, status in blocked)


def execute_step(step: Step, night: Night, board: _Board) -> StepOutcome:
    """Run one step (or skip it when a step it needs did not succeed); record it in the runs
    table and the log; never raise."""
    started_at = now()
    reason = _skip_reason(step, board)
    if reason:
        _record(night, StepRecord(night.run_id, night.run_date, step.name, "skipped", started_at,
                                  started_at, 0.0, {}, reason))
        _log(night, "warning", "step_skipped", step=step.name, status="skipped", reason=reason)
        return StepOutcome(step.name, "skipped", 0.0, reason)
    _record(night, StepRecord(night.run_id, night.run_date, step.name, "running", started_at))
    _log(night, "info", "step_started", step=step.name)
    clock = time.perf_counter()
    value: Any = None
    error: str | None = None
    try:
        value = step.run(night)
    except StepIncomplete as exc:
        value, error = exc.value, str(exc)
    except Exception as exc:  # a failed step is recorded; the independent ones still run
        error = f"{type(exc).__name__}: {exc}"
    outcome = StepOutcome(step.name, "failed" if error else "ok", time.perf_counter() - clock,
                          error, value)
    details = details_of(value)
    _record(night, StepRecord(night.run_id, night.run_date, step.name, outcome.status, started_at,
                              now(), outcome.seconds, details, error))
    counts = {k: v for k, v in details.items()
              if isinstance(v, int) and not isinstance(v, bool) and k not in _LOG_FIELDS}
    _log(night, "error" if error else "info", "step_finished", step=step.name,
         status=outcome.status, seconds=outcome.seconds, error=error, **counts)
    return outcome


@task(cache_policy=NO_CACHE, persist_result=False)
def _step_task(step: Step, night: Night, board: _Board) -> State:
    outcome = execute_step(step, night, board)
    board.put(outcome)
    if outcome.status == "failed":
        return Failed(message=outcome.error, data=outcome)
    return Completed(name="Skipped" if outcome.status == "skipped" else "Completed",
                     message=outcome.error, data=outcome)


_STEP_TASKS = {step.name: _step_task.with_options(name=step.name, task_run_name=step.name)
               for step in STEPS}


def run_steps(night: Night, steps: tuple[Step, ...] = STEPS) -> list[StepOutcome]:
    """Submit every step with its upstream steps' futures (``wait_for``); return the outcomes
    in the table's order once all have finished. Must run inside a flow."""
    board = _Board()
    futures: dict[str, PrefectFuture[Any]] = {}
    for step in steps:
        task_ = _STEP_TASKS.get(step.name) or _step_task.with_options(name=step.name)
        futures[step.name] = task_.submit(
            step, night, board, wait_for=[allow_failure(futures[name]) for name in step.upstream])
    for future in futures.values():
        future.wait()
    return [board.get(step.name) or StepOutcome(step.name, "failed", 0.0, "did not run")
            for step in steps]


def _artifact(night: date, summary: dict[str, Any]) -> None:
    lines = [f"# Nightly flywheel {night}", "", "| step | status | seconds | error |",
             "|---|---|---|---|"]
    lines += [f"| {s['step']} | {s['status']} | {s['seconds']:.1f} | "
              f"{(s.get('error') or '').replace('|', '/')[:300]} |" for s in summary["steps"]]
    lines += rollout_lines(summary.get("rollout"))
    publish_markdown("nightly-summary", "\n".join(lines), f"Steps of the night of {night}")


def _summary(night: Night, outcomes: list[StepOutcome]) -> dict[str, Any]:
    by_name = {step.name: step for step in STEPS}
    summary: dict[str, Any] = {"run_date": night.run_date.isoformat(), "run_id": night.run_id,
                               "steps": [o.entry() for o in outcomes]}
    for outcome in outcomes:
        step = by_name.get(outcome.step)
        if step is not None:
            keep = step.brief if (step.brief and outcome.value is not None) else None
            summary[step.summary_key] = keep(outcome.value) if keep else outcome.value
    summary["failed"] = [o.step for o in outcomes if not o.ok]
    return summary


@flow(name="nightly-flywheel", task_runner=ThreadPoolTaskRunner(max_workers=len(STEPS)))
def nightly_flywheel(
    run_date: date | None = None, db_path: str | None = None, project_dir: str | None = None,
    settings: GivenSettings | None = None,
) -> dict[str, Any] | State:
    """Run every step of the night for ``run_date`` (default: yesterday, UTC). ``settings``
    (resolved once by the caller) win over ``db_path``/``project_dir``."""
    settings_ = resolve_settings(settings, db_path, project_dir)
    night = Night(current_run_id(), run_date or default_run_date(), settings_)
    with nightly_lock(settings_.db_path, timeout_s=settings_.nightly_lock_timeout_s,
                      purpose=f"nightly {night.run_date}"), \
            held_open(settings_.db_path, timeout_s=settings_.db_lock_timeout_s,
                      memory_limit=settings_.db_memory_limit):
        started_at, clock = now(), time.perf_counter()
        for row in mark_crashed(settings_.db_path, night.run_id,
                                timeout_s=settings_.db_lock_timeout_s):
            _log(night, "warning", "earlier_run_crashed", step=row["step"], run_id=row["run_id"],
                 crashed_run_date=row["run_date"])
        _record(night, StepRecord(night.run_id, night.run_date, "nightly", "running", started_at))
        outcomes = run_steps(night)
        summary = _summary(night, outcomes)
        failed = summary["failed"]
        seconds = time.perf_counter() - clock
        _record(night, StepRecord(night.run_id, night.run_date, "nightly",
                                  "failed" if failed else "ok", started_at, now(), seconds,
                                  {"steps": len(outcomes), "failed": len(failed)},
                                  ", ".join(failed) or None))
        _log(night, "error" if failed else "info", "night_finished",
             status="failed" if failed else "ok", seconds=seconds, failed=",".join(failed) or None)
    _artifact(night.run_date, summary)
    if failed:
        message = f"nightly run {night.run_date}: failed steps: " + "; ".join(
            f"{o.step}: {o.error or o.status}" for o in outcomes if not o.ok)
        return Failed(message=message, data=NightlyFailed(message, summary))
    return summary
