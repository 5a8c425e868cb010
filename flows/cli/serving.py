"""``flywheel serving …`` and ``flywheel rollout …``: the serving snapshot and ramps
(docs/serving.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, open_store, run_work, settings_of, warn
from flywheel.tasks.errors import UsageError
from flywheel.tasks.serving import SnapshotError, decode

serving_app = typer.Typer(help="The serving snapshot (serving.json) applications read.",
                          no_args_is_help=True)
rollout_app = typer.Typer(help="Gradual rollouts (ramps) of experiments and promotions.",
                          no_args_is_help=True)
app.add_typer(serving_app, name="serving")
app.add_typer(rollout_app, name="rollout")


def _snapshot_human(r: dict[str, Any]) -> str:
    lines = [f"wrote {r['path']}: generation {r['generation']}, {r['prompts']} prompt(s), "
             f"{r['experiments']} experiment(s), {r['rollouts']} ramp(s)"]
    return "\n".join(lines + [f"problem: {p}" for p in r["problems"]])


@serving_app.command("snapshot")
def snapshot(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Write serving.json now (the nightly run and every promote/rollback also write it)."""
    settings = settings_of(ctx)
    reason = "flywheel serving snapshot"

    def in_process() -> dict[str, Any]:
        from flywheel.tasks.serving import write_snapshot

        result = write_snapshot(settings, reason=reason)
        for problem in result["problems"]:
            warn(f"serving snapshot: {problem}")
        return result

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.serving import serving_snapshot_flow

        return serving_snapshot_flow(reason=reason, db_path=str(settings.db_path),
                                     project_dir=str(settings.project_dir))

    result = run_work(ctx, in_process, as_flow_run)
    emit(result, as_json, _snapshot_human)


def _show_human(r: dict[str, Any]) -> str:
    lines = [f"{r['path']}: generation {r['generation']} ({r['reason']}), written "
             f"{r['generated_at']}, sha256 {r['sha256'][:12]} verified"]
    for name, prompt in sorted(r["prompts"].items()):
        for label, digest in sorted(prompt["labels"].items()):
            ramp = prompt["rollouts"].get(label)
            extra = (f"  ramp {ramp['fraction']:.0%} of users (others: {ramp['previous'][:12]})"
                     if ramp else "")
            lines.append(f"  prompt      {name}@{label} -> {digest[:12]}{extra}")
    for name, exp in sorted(r["experiments"].items()):
        arms = ", ".join(f"{v['name']} {w:.0%} {v['hash'][:12]}"
                         for v, w in zip(exp["variants"], exp["weights"], strict=True))
        ramp = exp["rollout"]
        enrolled = f"; enrolled {ramp['fraction']:.0%} ({ramp['status']})" if ramp else ""
        lines.append(f"  experiment  {name}: {arms}{enrolled}")
    return "\n".join(lines)


@serving_app.command("show")
def show(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(
        help="The snapshot (default: the configured serving.json).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a serving snapshot (schema, checksum) and show what it serves."""
    target = path or settings_of(ctx).serving_file
    try:
        document = decode(target.read_bytes(), source=str(target))
    except OSError as exc:
        raise UsageError(f"{target}: cannot read: {exc.strerror or exc}") from None
    except SnapshotError as exc:
        raise UsageError(str(exc)) from None
    emit({"path": str(target), **document}, as_json, _show_human)


def _states_human(r: dict[str, Any]) -> str:
    if not r["rollouts"]:
        return "no ramps"
    return "\n".join(
        f"#{x['rollout_id']:<3} {x['subject']} ({x['kind']}): {x['status']}, stage {x['stage']}/"
        f"{len(x['stages'])} = {x['fraction']:.0%} of users, since {x['stage_started_at'][:19]}"
        for x in r["rollouts"])


@rollout_app.command("status")
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every ramp with its status and current stage."""
    from flywheel.tasks.serving.rollout import rollout_states

    with open_store(settings_of(ctx)) as con:
        emit({"rollouts": rollout_states(con)}, as_json, _states_human)


def _history_human(r: dict[str, Any]) -> str:
    if not r["events"]:
        return "no ramp decisions"
    return "\n".join(
        f"#{e['event_id']:<4} {e['decided_at'][:19]} {e['subject']}  {e['action']:<8} "
        f"{(e['from_fraction'] or 0):.0%} -> {e['to_fraction']:.0%}"
        + (f" (night {e['run_date']})" if e["run_date"] else "") + f": {e['reason']}"
        for e in r["events"])


@rollout_app.command("history")
def history_(
    ctx: typer.Context,
    subject: Annotated[str | None, typer.Argument(
        help="An experiment name or NAME@LABEL (default: every ramp).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every ramp decision (start, advance, hold, rollback, ...) with its reason and evidence."""
    from flywheel.tasks.serving.rollout import rollout_history

    with open_store(settings_of(ctx)) as con:
        emit({"events": rollout_history(con, subject)}, as_json, _history_human)


@rollout_app.command("restart")
def restart(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="The experiment whose ramp was rolled back.")],
    as_json: JsonOption = False,
) -> None:
    """Start a rolled-back (or completed) experiment ramp again from its first stage (at the
    next serving snapshot or night)."""
    from flywheel.tasks.serving.rollout import restart_experiment_rollout

    with open_store(settings_of(ctx)) as con:
        event = restart_experiment_rollout(con, experiment)
    emit(event, as_json, lambda e: f"ramp {e['rollout_id']} of {experiment} cancelled; the next "
         "snapshot (flywheel serving snapshot) or night starts a new one at its first stage")
