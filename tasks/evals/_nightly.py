"""Which offline evals the nightly run makes: for every prompt with a ``candidate`` label, its
candidate against its ``production`` version, on each eval set that belongs to the prompt
(``evalsets/<prompt>.jsonl``, ``evalsets/<prompt>.<name>.jsonl``, ``evalsets/<prompt>/*.jsonl``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, fetch_dicts
from flywheel.tasks.errors import UsageError
from flywheel.tasks.evals._evalset import evalsets_for_prompt
from flywheel.tasks.evals._runner import NoEndpointError, endpoint_for
from flywheel.tasks.registry import resolve

CANDIDATE, PRODUCTION = "candidate", "production"


@dataclass(frozen=True)
class EvalJob:
    """One nightly eval: a prompt's production and candidate REFs on one eval set."""

    prompt: str
    evalset: Path
    refs: list[str]
    hashes: tuple[str, ...] = ()  # the versions the REFs named when the job was planned


def nightly_run_id(run_date: date, job: EvalJob) -> str:
    """The id of a night's eval of ``job``: the same night, eval set content and versions give
    the same id, so a re-run of the night finds the eval it already made (and makes no
    second one)."""
    key = json.dumps([str(job.evalset), hashlib.sha256(job.evalset.read_bytes()).hexdigest(),
                      list(job.hashes)])
    return f"nightly-{run_date.isoformat()}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def stored_run(settings: Settings, run_id: str) -> dict[str, Any] | None:
    """The summary of the stored eval run ``run_id`` (as ``flywheel eval run --json`` printed
    it), or None when there is none."""
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        rows = fetch_dicts(con, "evals/run_get", {"run_id": run_id})
    return json.loads(rows[0]["summary"]) if rows and rows[0]["summary"] else None


@dataclass
class NightlyPlan:
    """The evals to run, and the prompts skipped with the reason."""

    jobs: list[EvalJob] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def candidate_jobs(settings: Settings) -> NightlyPlan:
    """The nightly evals: candidate vs production for each prompt that has both and a set."""
    plan = NightlyPlan()
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        names = [r["name"] for r in fetch_dicts(con, "evals/labelled_prompt_names",
                                                {"label": CANDIDATE})]
        for name in names:
            try:
                production = resolve(con, f"{name}@{PRODUCTION}")
                candidate = resolve(con, f"{name}@{CANDIDATE}")
            except UsageError as exc:
                plan.skipped.append({"prompt": name, "reason": str(exc)})
                continue
            if production.hash == candidate.hash:
                plan.skipped.append({"prompt": name, "reason": "candidate is production"})
                continue
            sets = evalsets_for_prompt(settings.dir("evalsets"), name)
            if not sets:
                plan.skipped.append({"prompt": name, "reason": "no eval set"})
                continue
            try:
                endpoint_for(settings, name)
            except NoEndpointError as exc:
                plan.skipped.append({"prompt": name, "reason": str(exc)})
                continue
            plan.jobs += [EvalJob(name, path, [f"{name}@{PRODUCTION}", f"{name}@{CANDIDATE}"],
                                  (production.hash, candidate.hash)) for path in sets]
    return plan
