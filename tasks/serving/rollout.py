"""Gradual rollout (docs/serving.md): ramps, the nightly advance / hold / rollback decision, and
the history of every decision with its evidence.

Two kinds of ramp:

* **experiment**: the experiment file declares ``rollout: {stages, min_users_per_stage}``; the
  stage fraction is the share of users enrolled in the experiment (enrolled users split by the
  experiment's weights; the others get the control and are not logged as part of it). Evidence:
  the night's stored A/B results (``ab_results``/``ab_checks``) of the experiment.
* **promotion**: ``flywheel prompts promote NAME REF --ramp 0.05,0.2,0.5,1`` moves the label
  (recorded in ``label_history`` as usual) and starts a ramp: users inside the stage fraction are
  served the new version, the others the version the label moved from. Each stage's requests
  are logged as the experiment ``NAME@LABEL#ramp-<id>-stage-<n>`` with arms ``previous`` and
  ``promoted``; the nightly step runs the A/B engine on the current stage's tag (no CUPED, no
  assignment-mismatch check: the ramp assigns by the rollout bucket, not by ``assign_variant``).

Each night, for every ramp still ramping (rules in :func:`decide`): a guardrail whose whole
confidence interval lies beyond its allowed change rolls the ramp back (stage 0; a promotion's
label is restored through the registry's rollback); missing results, failed integrity checks,
fewer than ``min_users_per_stage`` users in an arm during the stage, or a guardrail without an
estimate yet, hold it; otherwise it advances one stage (``complete`` at the last stage).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from flywheel.tasks.ab import (
    METRICS,
    Experiment,
    Guardrail,
    Thresholds,
    aggregate,
    analyze_experiment,
    as_of_moment,
    check_stages,
    guardrail_results,
    json_safe,
)
from flywheel.tasks.ab import load_experiment_files as ab_experiment_files
from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, fetch_dicts, run, transaction
from flywheel.tasks.errors import FlywheelError, UsageError
from flywheel.tasks.fmt import pct
from flywheel.tasks.registry import (
    DEFAULT_LABEL,
    MoveResult,
    current_label,
    default_actor,
    promote,
    resolve_for_name,
    rollback,
    rollback_target,
)
from flywheel.tasks.reports import RolloutRules

RAMPING, COMPLETE, ROLLED_BACK, CANCELLED = "ramping", "complete", "rolled_back", "cancelled"
NIGHTLY_ACTOR = "flywheel-rollout"
PREVIOUS, PROMOTED = "previous", "promoted"


@dataclass(frozen=True)
class Rollout:
    """One ramp (a row of ``rollouts``)."""

    rollout_id: int
    kind: str  # experiment | promotion
    subject: str  # experiment name, or NAME@LABEL
    prompt_name: str | None
    label: str | None
    from_hash: str | None
    to_hash: str | None
    stages: tuple[float, ...]
    min_users_per_stage: int
    guardrails: tuple[Guardrail, ...]
    stage: int  # 1-based; 0 = nobody
    status: str
    stage_started_at: datetime
    last_decided_date: date | None
    label_move_id: int | None
    created_at: datetime
    created_by: str
    updated_at: datetime

    @property
    def fraction(self) -> float:
        """The share of users inside the ramp at the current stage."""
        return fraction_at(self.stages, self.stage)

    @property
    def tag(self) -> str:
        """The experiment name a promotion ramp's current stage is logged under."""
        return ramp_tag(self.subject, self.rollout_id, self.stage)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the current fraction."""
        out = asdict(self)
        out["guardrails"] = [asdict(g) for g in self.guardrails]
        out["stages"] = list(self.stages)
        out["fraction"] = self.fraction
        for key in ("stage_started_at", "created_at", "updated_at", "last_decided_date"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


@dataclass(frozen=True)
class Evidence:
    """What a night's decision on one ramp is based on."""

    source: str
    has_results: bool
    trustworthy: bool
    failed_checks: list[str]
    guardrails: list[dict[str, Any]]  # metric, variant, worse_if, max_relative_change, estimate, CI, status
    arm_users: dict[str, int]  # users per arm during the current stage
    window: tuple[str, str]  # [stage start, end of the night)
    srm_p_value: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite interval ends become null)."""
        return json_safe(asdict(self))


@dataclass(frozen=True)
class Decision:
    """What to do with a ramp tonight."""

    action: str  # advance | complete | hold | rollback
    to_stage: int
    reason: str


def fraction_at(stages: Sequence[float], stage: int) -> float:
    """The fraction of stage ``stage`` (1-based); 0 for stage 0."""
    return float(stages[stage - 1]) if stage > 0 else 0.0


def ramp_tag(subject: str, rollout_id: int, stage: int) -> str:
    """The experiment name of one stage of a promotion ramp (unique per ramp and stage)."""
    return f"{subject}#ramp-{rollout_id}-stage-{stage}"


def parse_stages(text: str | Sequence[Any], *, promotion: bool = True) -> tuple[float, ...]:
    """Ramp stages from ``"0.05,0.2,0.5,1"`` (or ``"5%,20%,50%,100%"``, or a list).

    A promotion ramp must end at 1 (everybody on the new version). :class:`UsageError` naming
    the problem otherwise.
    """
    raw = [p.strip() for p in text.split(",") if p.strip()] if isinstance(text, str) else list(text)
    values: list[Any] = []
    for item in raw:
        try:
            values.append(float(item) if isinstance(item, str) and not item.endswith("%") else item)
        except ValueError:
            raise UsageError(f"--ramp: {item!r} is not a fraction (e.g. 0.05) or a percentage "
                             "(e.g. 5%)") from None
    try:
        stages = check_stages(values)
    except ValueError as exc:
        raise UsageError(f"--ramp: stages {exc}") from None
    if promotion and stages[-1] != 1.0:
        raise UsageError(f"--ramp: a promotion ramp must end at 1 (100%), not {stages[-1]:g}")
    return stages


# ---------------------------------------------------------------------------------- storage


def _guardrails_of(raw: Any) -> tuple[Guardrail, ...]:
    items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    return tuple(Guardrail(g["metric"], g["worse_if"], float(g["max_relative_change"]))
                 for g in items)


def _rollout_of(row: dict[str, Any]) -> Rollout:
    return Rollout(
        rollout_id=int(row["rollout_id"]), kind=row["kind"], subject=row["subject"],
        prompt_name=row["prompt_name"], label=row["label"], from_hash=row["from_hash"],
        to_hash=row["to_hash"], stages=tuple(float(s) for s in row["stages"]),
        min_users_per_stage=int(row["min_users_per_stage"]),
        guardrails=_guardrails_of(row["guardrails"]), stage=int(row["stage"]),
        status=row["status"], stage_started_at=row["stage_started_at"],
        last_decided_date=row["last_decided_date"], label_move_id=row["label_move_id"],
        created_at=row["created_at"], created_by=row["created_by"], updated_at=row["updated_at"],
    )


def rollouts(con: duckdb.DuckDBPyConnection, statuses: Sequence[str] | None = None
             ) -> list[Rollout]:
    """Ramps in the given statuses (all by default), oldest first."""
    rows = fetch_dicts(con, "serving/rollouts_by_status",
                       {"statuses": list(statuses) if statuses is not None else None})
    return [_rollout_of(r) for r in rows]


def latest_rollout(con: duckdb.DuckDBPyConnection, kind: str, subject: str) -> Rollout | None:
    """The newest ramp of ``kind`` on ``subject``, if any."""
    rows = fetch_dicts(con, "serving/rollout_latest", {"kind": kind, "subject": subject})
    return _rollout_of(rows[0]) if rows else None


def _record(
    con: duckdb.DuckDBPyConnection, r: Rollout, *, action: str, to_stage: int, reason: str,
    run_date: date | None, by: str, now: datetime, evidence: dict[str, Any] | None = None,
    label_move_id: int | None = None, from_stage: int | None = None,
) -> dict[str, Any]:
    cur = run(con, "serving/rollout_history_insert", {
        "rollout_id": r.rollout_id, "kind": r.kind, "subject": r.subject, "run_date": run_date,
        "action": action, "from_stage": from_stage,
        "to_stage": to_stage,
        "from_fraction": fraction_at(r.stages, from_stage) if from_stage is not None else None,
        "to_fraction": fraction_at(r.stages, to_stage), "reason": reason,
        "evidence": json.dumps(evidence, ensure_ascii=False) if evidence is not None else None,
        "label_move_id": label_move_id, "now": now, "by": by,
    })
    columns = [d[0] for d in cur.description]
    return _event_dict(dict(zip(columns, cur.fetchone(), strict=True)))


def _event_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    if isinstance(out.get("evidence"), str):
        out["evidence"] = json.loads(out["evidence"])
    for key in ("decided_at", "run_date"):
        if out.get(key) is not None:
            out[key] = out[key].isoformat()
    if out.get("stages") is not None:
        out["stages"] = [float(s) for s in out["stages"]]
    return out


def _insert(
    con: duckdb.DuckDBPyConnection, *, kind: str, subject: str, stages: Sequence[float],
    min_users: int, guardrails: Sequence[Guardrail], started_at: datetime, by: str,
    now: datetime, prompt_name: str | None = None, label: str | None = None,
    from_hash: str | None = None, to_hash: str | None = None, label_move_id: int | None = None,
    reason: str, run_date: date | None = None,
) -> tuple[Rollout, dict[str, Any]]:
    cur = run(con, "serving/rollout_insert", {
        "kind": kind, "subject": subject, "prompt_name": prompt_name, "label": label,
        "from_hash": from_hash, "to_hash": to_hash, "stages": list(stages),
        "min_users_per_stage": min_users,
        "guardrails": json.dumps([asdict(g) for g in guardrails]), "stage": 1,
        "status": RAMPING, "stage_started_at": started_at, "label_move_id": label_move_id,
        "now": now, "by": by,
    })
    columns = [d[0] for d in cur.description]
    ramp = _rollout_of(dict(zip(columns, cur.fetchone(), strict=True)))
    event = _record(con, ramp, action="start", to_stage=1, reason=reason, run_date=run_date, by=by,
                    now=now, from_stage=0)
    return ramp, event


def _cancel(con: duckdb.DuckDBPyConnection, r: Rollout, reason: str, *, run_date: date | None,
            by: str, now: datetime) -> dict[str, Any]:
    moved = run(con, "serving/rollout_update", {
        "rollout_id": r.rollout_id, "stage": r.stage, "status": CANCELLED,
        "stage_started_at": r.stage_started_at, "run_date": run_date or r.last_decided_date,
        "now": now, "from_stage": r.stage, "from_status": r.status}).fetchall()
    if len(moved) != 1:
        raise FlywheelError(f"ramp {r.rollout_id} ({r.subject}) changed while being cancelled")
    return _record(con, r, action="cancel", from_stage=r.stage, to_stage=r.stage, reason=reason,
                   run_date=run_date, by=by, now=now)


# ---------------------------------------------------------------------------------- starting


def promote_with_ramp(
    con: duckdb.DuckDBPyConnection, name: str, ref: str, stages: Sequence[float], *,
    label: str = DEFAULT_LABEL, min_users_per_stage: int, reason: str | None = None,
    guardrails: Sequence[Guardrail] | None = None, by: str | None = None,
    now: datetime | None = None, run_date: date | None = None,
) -> tuple[MoveResult, Rollout]:
    """Promote ``ref`` to ``name@label`` and start a promotion ramp over ``stages``
    (``run_date``: the night that started it, when a nightly step did).

    The label must already point at another version (the one the users outside the ramp keep).
    An earlier ramp still running on the label is cancelled.
    """
    now = now or datetime.now(UTC)
    actor = by or default_actor()
    stages = parse_stages(list(stages), promotion=True)
    if min_users_per_stage < 1:
        raise UsageError(f"--min-users: must be a positive number of users, not {min_users_per_stage}")
    chosen = tuple(guardrails) if guardrails is not None else RolloutRules().guardrails
    unknown = [g.metric for g in chosen if g.metric not in METRICS]
    if unknown:
        raise UsageError(f"ramp guardrail: unknown metric(s) {', '.join(unknown)}; known: "
                         f"{', '.join(METRICS)}")
    version = resolve_for_name(con, name, ref)
    current = current_label(con, name, label)
    if current is None:
        raise UsageError(f"cannot ramp {name}@{label}: the label does not exist yet, so there is "
                         "no version for the users outside the ramp; promote without --ramp")
    if current == version.hash:
        raise UsageError(f"cannot ramp {name}@{label}: it already points to {version.short}")
    ramp_text = " → ".join(f"{s:.0%}" for s in stages)
    result = promote(con, name, version.hash, label=label, by=actor, now=now,
                     reason=f"{reason + '; ' if reason else ''}ramp {ramp_text}")
    assert result.move is not None
    subject = f"{name}@{label}"
    try:
        with transaction(con):
            for old in rollouts(con, [RAMPING]):
                if old.kind == "promotion" and old.subject == subject:
                    _cancel(con, old, f"superseded by the ramp of move #{result.move.move_id}",
                            run_date=run_date, by=actor, now=now)
            ramp, _ = _insert(
                con, kind="promotion", subject=subject, stages=stages,
                min_users=min_users_per_stage, guardrails=chosen, started_at=now, by=actor,
                now=now, prompt_name=name, label=label, from_hash=current, to_hash=version.hash,
                label_move_id=result.move.move_id, run_date=run_date,
                reason=f"promoted {version.short} to {subject} with a ramp {ramp_text} "
                       f"(label move #{result.move.move_id})")
    except (duckdb.Error, FlywheelError) as exc:
        # without its ramp the promotion would reach every user at once: undo it
        rollback(con, name, label=label, by=actor, reason=f"ramp could not be recorded: {exc}")
        raise FlywheelError(f"promote {subject} --ramp: the ramp could not be recorded ({exc}); "
                            "the promotion was rolled back") from exc
    return result, ramp


def ensure_experiment_rollouts(
    con: duckdb.DuckDBPyConnection, experiments: Sequence[Experiment], *, started_at: datetime,
    by: str, now: datetime,
) -> list[Rollout]:
    """Start a ramp for every experiment that declares one and has none (or a cancelled one).

    A ramp that was rolled back or completed is left as it is: it does not restart by itself.
    """
    created = []
    for exp in experiments:
        if exp.rollout is None:
            continue
        latest = latest_rollout(con, "experiment", exp.name)
        if latest is not None and latest.status != CANCELLED:
            continue
        plan = exp.rollout
        with transaction(con):
            ramp, _ = _insert(
                con, kind="experiment", subject=exp.name, stages=plan.stages,
                min_users=plan.min_users_per_stage, guardrails=exp.guardrails,
                started_at=started_at, by=by, now=now,
                reason=f"{exp.source_file or exp.name} declares a ramp "
                       + " → ".join(f"{s:.0%}" for s in plan.stages))
        created.append(ramp)
    return created


def restart_experiment_rollout(
    con: duckdb.DuckDBPyConnection, experiment: str, *, by: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Cancel an experiment's rolled-back (or completed) ramp so that the next snapshot or night
    starts it again at its first stage."""
    latest = latest_rollout(con, "experiment", experiment)
    if latest is None or latest.status in (RAMPING, CANCELLED):
        state = latest.status if latest else "none"
        raise UsageError(f"experiment {experiment!r} has no rolled-back or completed ramp to "
                         f"restart (its ramp: {state})")
    with transaction(con):
        return _cancel(con, latest, "restart requested", run_date=None,
                       by=by or default_actor(), now=now or datetime.now(UTC))


# ---------------------------------------------------------------------------------- deciding


def _guard_text(g: dict[str, Any]) -> str:
    sign = "+" if g["worse_if"] == "increase" else "-"
    return (f"{g['metric']} ({g['variant']}) {pct(g['estimate'], missing='n/a')} "
            f"[{pct(g['ci_low'], missing='n/a')}, {pct(g['ci_high'], missing='n/a')}] vs {sign}{g['max_relative_change']:.0%} "
            "allowed")


def decide(ramp: Rollout, evidence: Evidence) -> Decision:
    """Tonight's decision on a ramp at stage ``ramp.stage`` (docs/serving.md, "Rollout rules").

    1. rollback  some guardrail fails: its whole CI lies beyond the allowed change (checked
                 first, even on a short or untrustworthy sample: a clear regression is enough);
    2. hold      no results this night / an integrity check failed / an arm has fewer than
                 ``min_users_per_stage`` users during the stage / a guardrail has no estimate;
    3. advance   otherwise, to the next stage (``complete`` when that is the last one).
    """
    failing = [g for g in evidence.guardrails if g["status"] == "fail"]
    if failing:
        return Decision("rollback", 0, "guardrail failed: " + "; ".join(map(_guard_text, failing)))
    if not evidence.has_results:
        return Decision("hold", ramp.stage, f"no A/B results for this night ({evidence.source})")
    if not evidence.trustworthy:
        return Decision("hold", ramp.stage, "integrity checks failed: "
                        + ", ".join(evidence.failed_checks))
    short = {arm: n for arm, n in evidence.arm_users.items() if n < ramp.min_users_per_stage}
    if short or not evidence.arm_users:
        counts = ", ".join(f"{arm} {n}" for arm, n in evidence.arm_users.items()) or "none"
        return Decision("hold", ramp.stage, f"data short: users this stage {counts}; needs "
                        f"{ramp.min_users_per_stage} per arm")
    pending = [g for g in evidence.guardrails if g["estimate"] is None]
    if pending:
        return Decision("hold", ramp.stage, "data short: no estimate yet for "
                        + ", ".join(f"{g['metric']} ({g['variant']})" for g in pending))
    to_stage = ramp.stage + 1
    held = "; ".join(map(_guard_text, evidence.guardrails)) or "no guardrails declared"
    users = ", ".join(f"{arm} {n}" for arm, n in evidence.arm_users.items())
    action = "complete" if to_stage >= len(ramp.stages) else "advance"
    return Decision(action, min(to_stage, len(ramp.stages)),
                    f"no guardrail failed ({held}); users this stage: {users}")


def _raw_guardrails(exp: Experiment, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # trustworthy=True: the raw pass/fail of each interval; trust is judged separately
    return guardrail_results(exp, rows, True)


def experiment_evidence(
    con: duckdb.DuckDBPyConnection, ramp: Rollout, exp: Experiment, run_date: date,
    as_of: datetime,
) -> Evidence:
    """An experiment ramp's evidence: the night's stored A/B rows and checks, stage users."""
    rows = fetch_dicts(con, "serving/ab_night_results",
                       {"run_date": run_date, "experiment": exp.name})
    checks = fetch_dicts(con, "serving/ab_night_checks",
                         {"run_date": run_date, "experiment": exp.name})
    users = {v: 0 for v in exp.variant_names}
    for row in fetch_dicts(con, "serving/stage_arm_users", {
            "experiment": exp.name, "since": ramp.stage_started_at, "until": as_of}):
        if row["variant"] in users:
            users[row["variant"]] = int(row["users"])
    check = checks[0] if checks else None
    return Evidence(
        source=f"ab_results of {run_date.isoformat()}", has_results=bool(rows and check),
        trustworthy=bool(check and check["trustworthy"]),
        failed_checks=list(check["failed_checks"]) if check else [],
        guardrails=_raw_guardrails(exp, rows), arm_users=users,
        window=(ramp.stage_started_at.isoformat(), as_of.isoformat()),
        srm_p_value=check["srm_p_value"] if check else None)


def promotion_experiment(ramp: Rollout) -> Experiment:
    """The two-arm experiment a promotion ramp's current stage is analysed as."""
    f = ramp.fraction
    assert ramp.from_hash is not None and ramp.to_hash is not None
    return Experiment(
        name=ramp.tag, variants={PREVIOUS: ramp.from_hash, PROMOTED: ramp.to_hash},
        weights=(1.0 - f, f), start=ramp.created_at.astimezone(UTC), end=None,
        primary_metric="thumbs_up_rate", guardrails=ramp.guardrails,
        description=f"ramp {ramp.rollout_id} of {ramp.subject}, stage {ramp.stage}")


def promotion_evidence(
    con: duckdb.DuckDBPyConnection, ramp: Rollout, settings: Settings, as_of: datetime
) -> Evidence:
    """A promotion ramp's evidence: the A/B engine over the current stage's tagged requests."""
    exp = promotion_experiment(ramp)
    data = aggregate(con, [exp], as_of, cuped_lookback=timedelta(0))
    thresholds = Thresholds(srm_p_value=settings.ab_srm_p_threshold, max_mismatch_share=1.0,
                            max_multi_arm_share=settings.ab_max_multi_arm_share,
                            target_power=settings.ab_target_power)
    report = analyze_experiment(data.experiments[0], thresholds, as_of)
    users = {a["variant"]: int(a["users"]) for a in report["arms"]
             if a["variant"] in (PREVIOUS, PROMOTED)}
    return Evidence(
        source=f"A/B engine on {exp.name} (requests of this stage)",
        has_results=sum(users.values()) > 0, trustworthy=bool(report["trustworthy"]),
        failed_checks=list(report["checks"]["failed"]),
        guardrails=_raw_guardrails(exp, report["metrics"]), arm_users=users,
        window=(ramp.stage_started_at.isoformat(), as_of.isoformat()),
        srm_p_value=report["checks"]["srm_p_value"])


def _restore_label(con: duckdb.DuckDBPyConnection, ramp: Rollout, reason: str, by: str,
                   now: datetime) -> int | None:
    """Put a promotion's label back on ``from_hash``: the registry's rollback when the ramp's
    promotion is the move a rollback would undo, else a promotion back to ``from_hash``."""
    assert ramp.prompt_name and ramp.label and ramp.from_hash
    if current_label(con, ramp.prompt_name, ramp.label) != ramp.to_hash:
        return None
    top = rollback_target(con, ramp.prompt_name, ramp.label)
    if top.move_id == ramp.label_move_id:
        result = rollback(con, ramp.prompt_name, label=ramp.label, reason=reason, by=by, now=now)
    else:
        result = promote(con, ramp.prompt_name, ramp.from_hash, label=ramp.label, reason=reason,
                         by=by, now=now)
    return result.move.move_id if result.move else None


def apply_decision(
    con: duckdb.DuckDBPyConnection, ramp: Rollout, decision: Decision, evidence: Evidence, *,
    run_date: date, as_of: datetime, by: str, now: datetime,
) -> dict[str, Any]:
    """Carry out and record a decision; returns the history row."""
    move_id = None
    if decision.action == "rollback" and ramp.kind == "promotion":
        move_id = _restore_label(con, ramp, f"ramp {ramp.rollout_id} rolled back: "
                                 f"{decision.reason}", by, now)
    status = {"advance": RAMPING, "hold": RAMPING, "complete": COMPLETE,
              "rollback": ROLLED_BACK}[decision.action]
    moved = decision.to_stage != ramp.stage
    with transaction(con):
        updated = run(con, "serving/rollout_update", {
            "rollout_id": ramp.rollout_id, "stage": decision.to_stage, "status": status,
            "stage_started_at": as_of if moved else ramp.stage_started_at,
            "run_date": run_date, "now": now, "from_stage": ramp.stage,
            "from_status": ramp.status}).fetchall()
        if len(updated) != 1:
            raise FlywheelError(f"ramp {ramp.rollout_id} ({ramp.subject}) changed while the "
                                "night decided on it; run the night again")
        return _record(con, ramp, action=decision.action, from_stage=ramp.stage,
                       to_stage=decision.to_stage, reason=decision.reason, run_date=run_date,
                       by=by, now=now, evidence=evidence.to_dict(), label_move_id=move_id)


# ---------------------------------------------------------------------------------- the night


def load_experiment_files(folder: Path) -> tuple[dict[str, Experiment], dict[str, str]]:
    """Every experiment file that loads (by name), and the problem of each one that does not
    (by file stem, which a valid file's name equals), as text."""
    loaded, problems = ab_experiment_files(folder)
    return loaded, {stem: str(exc) for stem, exc in problems.items()}


def _stale_reason(con: duckdb.DuckDBPyConnection, ramp: Rollout,
                  experiments: dict[str, Experiment], problems: dict[str, str],
                  as_of: datetime) -> str | None:
    """Why a ramping ramp no longer applies (it is then cancelled), or None."""
    if ramp.kind == "promotion":
        assert ramp.prompt_name and ramp.label
        current = current_label(con, ramp.prompt_name, ramp.label)
        if current != ramp.to_hash:
            return (f"the label {ramp.subject} was moved outside the ramp (now "
                    f"{(current or 'gone')[:12]}, ramp was of {(ramp.to_hash or '')[:12]})")
        return None
    exp = experiments.get(ramp.subject)
    if exp is None:
        return None if ramp.subject in problems else "the experiment file is gone"
    if exp.rollout is None:
        return "the experiment file no longer declares a rollout"
    if exp.end is not None and exp.end <= as_of:
        return f"the experiment ended at {exp.end.isoformat()}"
    return None


def advance_rollouts(
    settings: Settings, run_date: date, *, now: datetime | None = None, by: str = NIGHTLY_ACTOR,
) -> dict[str, Any]:
    """The nightly rollout step: decide once on every ramp for ``run_date`` (see the module doc).

    Idempotent per night: a ramp already decided for this night (or a later one) is skipped.
    A ramp whose evidence cannot be computed is reported under ``errors`` and left unchanged;
    the step then fails after deciding on the others.
    """
    now = now or datetime.now(UTC)
    as_of = as_of_moment(run_date)
    assert as_of is not None
    experiments, problems = load_experiment_files(settings.dir("experiments"))
    decisions: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        running = [e for e in experiments.values() if e.end is None or e.end > as_of]
        started = ensure_experiment_rollouts(con, running, started_at=as_of, by=by, now=now)
        for ramp in rollouts(con, [RAMPING]):
            item = {"rollout_id": ramp.rollout_id, "kind": ramp.kind, "subject": ramp.subject}
            if ramp.last_decided_date is not None and run_date <= ramp.last_decided_date:
                skipped.append({**item, "reason": f"already decided on the night of "
                                f"{ramp.last_decided_date.isoformat()}"})
                continue
            stale = _stale_reason(con, ramp, experiments, problems, as_of)
            if stale:
                with transaction(con):
                    decisions.append(_cancel(con, ramp, stale, run_date=run_date, by=by, now=now))
                continue
            if as_of <= ramp.stage_started_at:
                skipped.append({**item, "reason": "its stage starts after this night"})
                continue
            if ramp.kind == "experiment" and ramp.subject in problems:
                errors.append({**item, "error": problems[ramp.subject]})
                continue
            try:
                evidence = (experiment_evidence(con, ramp, experiments[ramp.subject], run_date,
                                                as_of)
                            if ramp.kind == "experiment"
                            else promotion_evidence(con, ramp, settings, as_of))
                decision = decide(ramp, evidence)
                decisions.append(apply_decision(con, ramp, decision, evidence, run_date=run_date,
                                                as_of=as_of, by=by, now=now))
            except (FlywheelError, duckdb.Error, KeyError, ValueError) as exc:
                errors.append({**item, "error": f"{type(exc).__name__}: {exc}"})
    result = {"run_date": run_date.isoformat(), "started": [r.to_dict() for r in started],
              "decisions": decisions, "skipped": skipped, "errors": errors,
              "experiment_file_problems": problems}
    if errors:
        raise RolloutStepError(
            "rollout: " + "; ".join(f"{e['subject']}: {e['error']}" for e in errors), result)
    return result


class RolloutStepError(FlywheelError):
    """Some ramps could not be decided; ``result`` holds what was decided for the others."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.result))


# ---------------------------------------------------------------------------------- queries


def night_decisions(con: duckdb.DuckDBPyConnection, run_date: date) -> list[dict[str, Any]]:
    """Every ramp decision taken on the night of ``run_date`` (newest first), each with the
    ramp's stages, from/to stage and fraction, reason and evidence (parsed JSON). For reports."""
    return [_event_dict(r) for r in fetch_dicts(con, "serving/rollout_history_of",
                                                {"subject": None, "run_date": run_date,
                                                 "rollout_id": None})]


def rollout_history(con: duckdb.DuckDBPyConnection, subject: str | None = None,
                    rollout_id: int | None = None) -> list[dict[str, Any]]:
    """The decisions on the ramps of ``subject`` (an experiment or NAME@LABEL), or of one ramp,
    or of all, newest first."""
    return [_event_dict(r) for r in fetch_dicts(con, "serving/rollout_history_of",
                                                {"subject": subject, "run_date": None,
                                                 "rollout_id": rollout_id})]


def rollout_states(con: duckdb.DuckDBPyConnection, statuses: Sequence[str] | None = None
                   ) -> list[dict[str, Any]]:
    """Every ramp (or those in ``statuses``) with its current stage and fraction. For reports."""
    return [r.to_dict() for r in rollouts(con, statuses)]
