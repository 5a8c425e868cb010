"""The night's steps, declared once.

Each :class:`Step` names the function it runs (given the :class:`~flywheel.flows.night.Night`),
the steps it **needs** (it is skipped, with the reason, when one of them did not succeed), the
steps it runs **after** (it waits for them whatever their outcome: it reads what they write) and
what it reads and writes. Everything else is derived from :data:`STEPS`: the order and the
dependencies of the nightly flow (``flows/nightly.py``), which steps may run at the same time, the
runs table's rows, the night's summary and artifact, the step list of ``docs/operations.md`` and
``docs/architecture.md`` (checked against this table by ``tests/unit/test_steps.py``) and the
description of the ``nightly`` deployment in ``prefect.yaml`` (checked by the same test).

Adding a step: write its function (``def my_step(night: Night) -> dict``) in the flow module of
its domain, add one entry here, and run the test above (it names what to update in the docs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flywheel.flows.ab_analysis import analyse_experiments
from flywheel.flows.allocate import allocate_night
from flywheel.flows.export import export_night
from flywheel.flows.ingest import ingest_landing
from flywheel.flows.mlflow_mirror import mirror_night
from flywheel.flows.monitoring import monitor_night
from flywheel.flows.night import Night
from flywheel.flows.offline_eval import evaluate_candidates
from flywheel.flows.optimize import automate_candidates, propose_candidates
from flywheel.flows.prompts_sync import sync_project_prompts
from flywheel.flows.report import build_reports
from flywheel.flows.rollout import decide_rollouts
from flywheel.flows.serving import snapshot_night


def _ab_brief(report: dict[str, Any]) -> list[dict[str, Any]]:
    """What the night's summary keeps of the A/B report: each experiment's verdict, and each
    experiment file that could not be loaded (status ``file error``, its ``error``)."""
    return [{"name": e["name"], "status": e["status"], "trustworthy": e["trustworthy"],
             "winner": e["winner"]} for e in report["experiments"]] + [
        {"name": Path(e["file"]).stem, "status": "file error", "trustworthy": None,
         "winner": None, "error": e["error"]} for e in report.get("file_errors", [])]


@dataclass(frozen=True)
class Step:
    """One step of the night."""

    name: str
    run: Callable[[Night], Any]
    summary_key: str  # its key in the night's summary
    about: str  # one line for the docs
    needs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    brief: Callable[[Any], Any] | None = None  # what the summary keeps of the result (all)

    @property
    def upstream(self) -> tuple[str, ...]:
        """Every step this one waits for."""
        return self.needs + tuple(s for s in self.after if s not in self.needs)


STEPS: tuple[Step, ...] = (
    Step("ingest", ingest_landing, "ingest",
         "load the landing folder's new log files; quarantine bad lines",
         reads=("landing/",),
         writes=("requests", "feedback", "rejected_records", "ingest_ledger", "ingest_failures",
                 "ingest_files_seen", "ingest_orphans")),
    Step("prompts-sync", sync_project_prompts, "prompts",
         "register the prompt files; report requests whose prompt is unknown",
         after=("ingest",), reads=("prompts/", "requests"),
         writes=("prompt_versions", "prompt_names", "prompt_labels", "label_history",
                 "request_link_pairs", "request_link_state")),
    Step("ab-analysis", analyse_experiments, "ab",
         "A/B statistics of every experiment as of the end of the night",
         after=("ingest", "prompts-sync"),
         reads=("experiments/", "requests", "feedback", "prompt_labels"),
         writes=("ab_results", "ab_checks", "ab_unfiled", "ab_file_errors", "ab_state",
                 "ab_user_nights", "ab_arm_nights"), brief=_ab_brief),
    Step("optimize", propose_candidates, "optimize",
         "propose a candidate from the feedback for every prompt that opts in ([auto.NAME])",
         after=("ingest", "prompts-sync"),
         reads=("requests", "feedback", "prompt_labels", "evalsets/", "eval_cache"),
         writes=("prompts/", "prompt_versions", "prompt_provenance", "prompt_labels",
                 "label_history", "eval_cache")),
    Step("offline-eval", evaluate_candidates, "offline_eval",
         "each prompt's candidate against its production version on its eval sets",
         after=("prompts-sync", "optimize"),
         reads=("evalsets/", "prompt_labels", "prompt_versions"),
         writes=("eval_runs", "eval_results", "eval_cache")),
    Step("export", export_night, "export",
         "the night's part of the fine-tuning, preference and hard-example files",
         after=("ingest", "prompts-sync"),
         reads=("requests", "feedback", "prompt_versions", "evalsets/", "export_keys"),
         writes=("exports/", "export_runs", "export_keys")),
    Step("monitoring", monitor_night, "monitoring",
         "the night's production metrics per version, drift alerts, the webhook",
         needs=("ingest",), after=("prompts-sync",),
         reads=("requests", "feedback", "prompt_versions", "monitor_metrics",
                "monitor_token_counts"),
         writes=("monitor_metrics", "monitor_token_counts", "monitor_alerts")),
    Step("auto-promote", automate_candidates, "auto",
         "opted-in prompts: an offline win starts a ramp; the ramp's A/B loss rolls it back",
         after=("ingest", "offline-eval", "ab-analysis"),
         reads=("eval_runs", "prompt_labels", "prompt_provenance", "requests", "feedback",
                "rollouts"),
         writes=("rollouts", "rollout_history", "prompt_labels", "label_history")),
    Step("rollout", decide_rollouts, "rollout",
         "advance, hold or roll back every promotion ramp from the night's A/B results",
         needs=("ingest",), after=("ab-analysis", "auto-promote"),
         reads=("ab_results", "ab_checks", "rollouts"),
         writes=("rollouts", "rollout_history", "prompt_labels", "label_history")),
    Step("allocate", allocate_night, "allocate",
         "the next day's weights of every bandit experiment from the night's A/B results",
         needs=("ab-analysis",), reads=("experiments/", "ab_checks", "ab_allocations"),
         writes=("ab_allocations",)),
    Step("serving-snapshot", snapshot_night, "serving",
         "write serving.json: the labels, experiments and ramps applications serve",
         after=("prompts-sync", "rollout", "allocate"),
         reads=("prompt_labels", "experiments/", "rollouts", "ab_allocations"),
         writes=("serving.json", "serving_snapshots")),
    Step("mlflow-mirror", mirror_night, "mlflow_mirror",
         "mirror eval runs, A/B nights, prompt versions and labels into MLflow (when set)",
         after=("prompts-sync", "ab-analysis", "offline-eval", "rollout"),
         reads=("eval_runs", "ab_results", "prompt_versions", "prompt_labels"),
         writes=("mlflow_mirror_items", "mlflow_mirror_status")),
    Step("report", build_reports, "report",
         "the promotion reports, with every step's status and the night's alerts",
         needs=("ab-analysis",),
         after=("ingest", "prompts-sync", "optimize", "offline-eval", "export", "monitoring",
                "auto-promote", "rollout", "serving-snapshot", "mlflow-mirror"),
         reads=("ab_results", "ab_file_errors", "ab_arm_nights", "eval_runs", "monitor_alerts",
                "runs", "rollouts"),
         writes=("reports/", "report_decisions")),
)

STEP_NAMES: tuple[str, ...] = tuple(step.name for step in STEPS)
STEP_ORDER = STEP_NAMES  # the order the steps are declared in: every step after its upstream


def check_steps(steps: tuple[Step, ...] = STEPS) -> None:
    """Refuse a table whose names repeat or whose steps wait for a later or unknown step."""
    seen: set[str] = set()
    for step in steps:
        if step.name in seen:
            raise ValueError(f"step {step.name!r} is declared twice")
        missing = [name for name in step.upstream if name not in seen]
        if missing:
            raise ValueError(f"step {step.name!r} waits for {', '.join(missing)}, "
                             "not declared before it")
        seen.add(step.name)


check_steps()


def steps_table(steps: tuple[Step, ...] = STEPS) -> str:
    """The Markdown table of the steps (``docs/operations.md``)."""
    def names(items: tuple[str, ...]) -> str:
        return ", ".join(f"`{item}`" for item in items)

    lines = ["| step | what | needs | after | reads | writes |", "|---|---|---|---|---|---|"]
    lines += [f"| `{s.name}` | {s.about} | {names(s.needs)} | "
              f"{names(tuple(a for a in s.after if a not in s.needs))} | {names(s.reads)} | "
              f"{names(s.writes)} |" for s in steps]
    return "\n".join(lines)


def steps_graph(steps: tuple[Step, ...] = STEPS) -> str:
    """The DAG as text, one step a line with the steps it waits for (``docs/architecture.md``);
    ``!`` marks a step it needs (skipped when that one did not succeed)."""
    width = max(len(s.name) for s in steps)
    lines = []
    for s in steps:
        upstream = ", ".join(name + ("!" if name in s.needs else "") for name in s.upstream)
        lines.append(f"{s.name:<{width}}  <- {upstream}" if upstream else s.name)
    return "\n".join(lines)
