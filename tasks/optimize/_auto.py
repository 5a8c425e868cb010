"""The guarded automation of a prompt that opts in (``[auto.NAME]``, docs/optimize.md).

Rules, each named in ``moved_by`` (``flywheel-auto:<rule>``) and evidenced in the reason:

* ``offline-win``: no automated ramp runs for the prompt, its ``candidate`` is a generated
  version that beat production in the newest eval run comparing them (McNemar p < alpha, more
  improvements than regressions, no tag whose pass rate fell) and was never ramped before:
  a promotion ramp over the policy's stages starts (``promote_with_ramp``: the users outside the
  stage fraction keep production; the nightly A/B engine compares the two arms).
* ``ab-loss``: the ramp's A/B (its current stage) is trustworthy and the confidence interval
  of the promoted arm's thumbs-up lift lies wholly below 0: the ramp is rolled back, the label
  restored.
* ``ab-wait``: the next advance would complete the ramp but the promoted arm has not won yet
  (the interval wholly above 0): the ramp holds tonight (the rollout step then skips it).
* otherwise the rollout step decides as for any ramp (a failed guardrail rolls it back).

An offline eval alone never completes a promotion: only the ramp's A/B win does.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from flywheel.tasks.ab import Thresholds, aggregate, analyze_experiment, as_of_moment
from flywheel.tasks.config import AutoPolicy, Settings
from flywheel.tasks.db import connect, fetch_dicts
from flywheel.tasks.errors import UsageError
from flywheel.tasks.fmt import pct
from flywheel.tasks.registry import current_label, provenance_of
from flywheel.tasks.serving.rollout import (
    RAMPING,
    Decision,
    Rollout,
    apply_decision,
    promote_with_ramp,
    promotion_evidence,
    promotion_experiment,
    rollouts,
)

AUTO_ACTOR = "flywheel-auto"
PRODUCTION, CANDIDATE = "production", "candidate"


def offline_verdict(summary: dict[str, Any], candidate: str, alpha: float) -> tuple[bool, str]:
    """Whether an eval run's paired comparison shows ``candidate`` beating the baseline, and
    the evidence as text."""
    comparisons = summary.get("comparisons") or (summary.get("summary") or {}).get("comparisons") or []
    mine = [c for c in comparisons if c.get("candidate_hash") == candidate]
    if not mine:
        return False, "the eval run has no comparison of the candidate"
    c = mine[0]
    test = c["mcnemar"]
    fell = [t["tag"] for t in c.get("by_tag", []) if (t.get("pass_rate_diff") or 0) < 0]
    text = (f"pass rate {c['baseline_pass_rate']:.1%} → {c['candidate_pass_rate']:.1%} on "
            f"{c['paired_cases']} paired cases, {test['improvements']} improved / "
            f"{test['regressions']} regressed, McNemar p = {test['p_value']:.4g}"
            + (f"; tags that regressed: {', '.join(fell)}" if fell else "; no tag regressed"))
    won = (test["p_value"] is not None and test["p_value"] < alpha
           and test["improvements"] > test["regressions"] and not fell)
    return won, text


def _auto_ramp(con: duckdb.DuckDBPyConnection, name: str) -> Rollout | None:
    subject = f"{name}@{PRODUCTION}"
    running = [r for r in rollouts(con, [RAMPING]) if r.kind == "promotion"
               and r.subject == subject and r.created_by.startswith(AUTO_ACTOR)]
    return running[-1] if running else None


def _start(con: duckdb.DuckDBPyConnection, name: str, policy: AutoPolicy, now: datetime,
           run_date: date) -> dict[str, Any]:
    production = current_label(con, name, PRODUCTION)
    candidate = current_label(con, name, CANDIDATE)
    if not production or not candidate or production == candidate:
        return {"name": name, "action": "none", "reason": "no candidate apart from production"}
    if provenance_of(con, candidate) is None:
        return {"name": name, "action": "none", "reason": "the candidate was not generated"}
    if any(r.to_hash == candidate for r in rollouts(con) if r.subject == f"{name}@{PRODUCTION}"):
        return {"name": name, "action": "none", "reason": "the candidate was ramped before"}
    rows = fetch_dicts(con, "optimize/latest_eval_run",
                       {"production": production, "candidate": candidate})
    if not rows:
        return {"name": name, "action": "none", "reason": "no eval run of the candidate yet"}
    won, evidence = offline_verdict(json.loads(rows[0]["summary"]), candidate, policy.alpha)
    if not won:
        return {"name": name, "action": "none", "reason": f"no offline win: {evidence}"}
    _, ramp = promote_with_ramp(
        con, name, candidate, policy.stages, min_users_per_stage=policy.min_users_per_stage,
        by=f"{AUTO_ACTOR}:offline-win", now=now, run_date=run_date,
        reason=f"offline win in eval run {rows[0]['run_id']}: {evidence}")
    return {"name": name, "action": "ramp", "rollout_id": ramp.rollout_id,
            "reason": f"offline win in eval run {rows[0]['run_id']}: {evidence}"}


def _primary(con: duckdb.DuckDBPyConnection, ramp: Rollout, settings: Settings,
             as_of: datetime) -> dict[str, Any]:
    """The A/B report of the ramp's current stage (the engine the rollout step uses)."""
    exp = promotion_experiment(ramp)
    data = aggregate(con, [exp], as_of, cuped_lookback=timedelta(0))
    thresholds = Thresholds(srm_p_value=settings.ab_srm_p_threshold, max_mismatch_share=1.0,
                            max_multi_arm_share=settings.ab_max_multi_arm_share,
                            target_power=settings.ab_target_power)
    return analyze_experiment(data.experiments[0], thresholds, as_of)


def _judge(con: duckdb.DuckDBPyConnection, ramp: Rollout, settings: Settings,
           run_date: date, now: datetime) -> dict[str, Any]:
    as_of = as_of_moment(run_date)
    assert as_of is not None
    item = {"name": ramp.prompt_name, "rollout_id": ramp.rollout_id, "stage": ramp.stage}
    if ramp.last_decided_date is not None and run_date <= ramp.last_decided_date:
        return {**item, "action": "none", "reason": "already decided for this night"}
    if as_of <= ramp.stage_started_at:
        return {**item, "action": "none", "reason": "its stage starts after this night"}
    report = _primary(con, ramp, settings, as_of)
    row = next((r for r in report["metrics"] if r["metric"] == report["primary_metric"]), None)
    if row is None or row["estimate"] is None or not report["trustworthy"]:
        return {**item, "action": "none", "reason": "no trustworthy primary result yet"}
    text = (f"{report['primary_metric']} promoted vs previous {pct(row['estimate'])} "
            f"[{pct(row['ci_low'])}, {pct(row['ci_high'])}], p = {row['p_value']:.4g}, "
            f"users {row['control_n']} / {row['treatment_n']} (stage {ramp.stage})")
    # the interval at the engine's level: wholly below 0 a loss, wholly above a win
    lost = row["ci_high"] is not None and row["ci_high"] < 0
    won = row["ci_low"] is not None and row["ci_low"] > 0
    if lost:
        rule, decision = "ab-loss", Decision("rollback", 0, f"A/B loss: {text}")
    elif ramp.stage + 1 >= len(ramp.stages) and not won:
        rule, decision = "ab-wait", Decision("hold", ramp.stage, f"no A/B win yet: {text}")
    else:
        return {**item, "action": "none", "reason": f"left to the rollout step: {text}"}
    evidence = promotion_evidence(con, ramp, settings, as_of)
    apply_decision(con, ramp, decision, evidence, run_date=run_date, as_of=as_of,
                   by=f"{AUTO_ACTOR}:{rule}", now=now)
    return {**item, "action": decision.action, "rule": rule, "reason": decision.reason}


def auto_night(settings: Settings, run_date: date, *, now: datetime | None = None
               ) -> dict[str, Any]:
    """The night's automation (see the module docstring) for every prompt that opts in with
    ``promote = true``; a prompt whose step fails costs that prompt only (``errors``)."""
    # the night's moves happen at its end: a ramp started tonight serves tomorrow's traffic
    now = now or as_of_moment(run_date) or datetime.now(UTC)
    actions, errors = [], []
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        for name, policy in sorted(settings.auto.items()):
            if not policy.promote:
                actions.append({"name": name, "action": "none",
                                "reason": "promote = false: the report lists the commands"})
                continue
            try:
                ramp = _auto_ramp(con, name)
                actions.append(_judge(con, ramp, settings, run_date, now) if ramp
                               else _start(con, name, policy, now, run_date))
            except (UsageError, duckdb.Error, KeyError, ValueError) as exc:
                errors.append({"name": name, "error": f"{type(exc).__name__}: {exc}"})
    return {"run_date": run_date.isoformat(), "actions": actions, "errors": errors}
