"""``flywheel prompts …``: the prompt registry (docs/contracts.md, "Prompt files and the version hash" and the CLI; docs/registry.md).

Read-only commands and ``hash`` call task functions directly (fast); ``sync``, ``register``,
``promote`` and ``rollback`` check their arguments first (a typo fails at once, exit 2), then do
their work in this process, or as their Prefect flow runs when a server is configured
(``run_work``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, open_store, run_work, settings_of, warn
from flywheel.tasks.config import Settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry import (
    DEFAULT_LABEL,
    PromptSyncError,
    canonical_json,
    check_label,
    content_lines,
    current_label,
    describe_links,
    diff_versions,
    folder_files,
    history,
    link_report,
    list_prompts,
    load_prompt_file,
    resolve_for_name,
    rollback_target,
    short,
    show,
)

prompts_app = typer.Typer(
    name="prompts", no_args_is_help=True,
    help="The prompt registry: content-addressed versions, labels, promotion, rollback, history. "
    "REF: NAME@LABEL, NAME:HASH (a unique prefix of >= 6 hex characters) or HASH.",
)
app.add_typer(prompts_app, name="prompts")

LabelOption = Annotated[str, typer.Option("--label", help="The label to move.")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (kept in the history).")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who (default: $USER).")]


def _sync_human(summary: dict[str, Any]) -> str:
    lines = [f"{summary['files_seen']} prompt file(s): {len(summary['registered'])} new "
             f"version(s), {len(summary['unchanged'])} already registered, "
             f"{summary['files_invalid']} invalid"]
    lines += [f"  new      {r['name']}:{short(r['hash'])}  {r['file']}"
              for r in summary["registered"]]
    lines += [f"  label    {r['name']}@{r['label']} -> {short(r['hash'])} (declared in {r['file']})"
              for r in summary["labels_created"]]
    lines += [f"  kept     {r['name']}@{r['label']} stays at {short(r['current_hash'])} "
              f"({r['file']} declares {short(r['hash'])}; labels move by promote/rollback)"
              for r in summary["labels_kept"] if not r["declared_is_current"]]
    lines += [f"  invalid  {e['file']}{':' + str(e['line']) if e['line'] else ''}: "
              f"{e['key'] + ': ' if e['key'] else ''}{e['message']}" for e in summary["errors"]]
    links = summary.get("links")
    if links and links["requests"]:
        lines.append(describe_links(links))
    return "\n".join(lines)


def _run_sync(ctx: typer.Context, settings: Settings, as_json: bool, folder: str | None = None,
              files: list[str] | None = None, by: str | None = None) -> None:
    def in_process() -> dict[str, Any]:
        from flywheel.tasks.commands import sync_prompt_files
        from flywheel.tasks.registry import raise_for_errors

        summary = sync_prompt_files(settings, folder, files, by)
        raise_for_errors(summary)
        return summary

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.prompts_sync import prompts_sync_flow

        return prompts_sync_flow(folder=folder, files=files, by=by, db_path=str(settings.db_path),
                                 project_dir=str(settings.project_dir))

    try:
        summary = run_work(ctx, in_process, as_flow_run)
    except PromptSyncError as exc:
        emit(exc.summary, as_json, _sync_human)
        raise
    emit(summary, as_json, _sync_human)


@prompts_app.command("sync")
def sync(
    ctx: typer.Context,
    folder: Annotated[Path | None, typer.Argument(
        help="Folder of prompt files (default: the project's prompts/).")] = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register every prompt file of a folder (idempotent); place labels the files declare."""
    settings = settings_of(ctx)
    folder = (folder or settings.dir("prompts")).resolve()
    folder_files(folder)  # a missing folder is a usage error before the flow starts
    _run_sync(ctx, settings, as_json, folder=str(folder), by=by)


@prompts_app.command("register")
def register(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="One prompt file (YAML).")],
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register one prompt file (and place the labels it declares, if they do not exist)."""
    settings = settings_of(ctx)
    load_prompt_file(file, base=settings.project_dir)  # a bad file fails here: exit 2
    _run_sync(ctx, settings, as_json, files=[str(file.resolve())], by=by)


@prompts_app.command("hash")
def hash_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A prompt file (YAML).")],
    as_json: JsonOption = False,
) -> None:
    """Print the full version hash of a prompt file (validating it; nothing is registered)."""
    prompt = load_prompt_file(file, base=settings_of(ctx).project_dir)
    result = {"file": prompt.display, "name": prompt.name, "hash": prompt.hash,
              "short": prompt.hash[:12], "canonical_json": canonical_json(prompt.content)}
    emit(result, as_json, lambda r: r["hash"])


def _list_human(result: dict[str, Any]) -> str:
    rows = result["prompts"]
    if not rows:
        return "no prompts registered (run `flywheel prompts sync`)"
    width = max(len("NAME"), *(len(r["name"]) for r in rows))
    lines = [f"{'NAME':<{width}}  VERSIONS  LABELS"]
    for r in rows:
        labels = "  ".join(f"{label}={short(h)}" for label, h in r["labels"].items()) or "-"
        lines.append(f"{r['name']:<{width}}  {r['versions']:>8}  {labels}")
    return "\n".join(lines)


@prompts_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every prompt with its labels and version count."""
    with open_store(settings_of(ctx)) as con:
        result = {"prompts": list_prompts(con)}
    emit(result, as_json, _list_human)


def _show_human(r: dict[str, Any]) -> str:
    lines = [f"{r['name']}:{r['short']}  {r['hash']}",
             f"labels:     {', '.join(r['labels']) or '-'}",
             "names:      " + ", ".join(f"{n['name']} ({n['source_file'] or '-'})"
                                       for n in r["names"]),
             f"first seen: {r['first_seen']}",
             f"variables:  {', '.join(r['variables']) or '-'}"]
    lines += [f"{key}: {r['metadata'][key]}" for key in ("description", "author", "tags")
              if key in r["metadata"]]
    p = r.get("provenance")
    if p:
        days = p["feedback_days"]
        lines.append(f"generated:  {p['method']} on {short(p['parent'])} from "
                     f"{len(p['feedback_ids'])} correction(s)"
                     + (f" of {days[0]} … {days[-1]}" if days else "")
                     + f"; eval cases kept out: {', '.join(p['excluded_eval_cases']) or 'none'}"
                     + (f"; optimizer {p['optimizer_model']} ${p['cost_usd'] or 0:.4f}"
                        if p["optimizer_model"] else ""))
    return "\n".join([*lines, "", *content_lines(r["content"])])


@prompts_app.command("show")
def show_(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME@LABEL, NAME:HASH or HASH.")],
    as_json: JsonOption = False,
) -> None:
    """A version with its labels, names, variables and content."""
    with open_store(settings_of(ctx)) as con:
        result = show(con, ref)
    emit(result, as_json, _show_human)


@prompts_app.command("diff")
def diff(
    ctx: typer.Context,
    ref_a: Annotated[str, typer.Argument(help="The old version (REF).")],
    ref_b: Annotated[str, typer.Argument(help="The new version (REF).")],
    as_json: JsonOption = False,
) -> None:
    """Unified diff of two versions' canonical content (model, params, system, few-shot, ...)."""
    with open_store(settings_of(ctx)) as con:
        result = diff_versions(con, ref_a, ref_b)
    emit(result, as_json, lambda r: r["diff"] if not r["identical"]
         else f"identical: both are {short(r['a']['hash'])}")


def _move_human(r: dict[str, Any]) -> str:
    ref = f"{r['name']}@{r['label']}"
    if not r["changed"]:
        return f"{ref} already points to {short(r['to_hash'])}; nothing changed"
    move = r["move"]
    undoing = f", undoing move #{move['undoes_move_id']}" if move["undoes_move_id"] else ""
    head = (f"{ref}: {short(r['from_hash']) if r['from_hash'] else '(new label)'} -> "
            f"{short(r['to_hash'])}  ({move['action']}, move #{move['move_id']} by "
            f"{move['moved_by']}{undoing})")
    ramp = r.get("rollout")
    if ramp:
        head += (f"\nramp {ramp['rollout_id']}: " + " -> ".join(f"{s:.0%}" for s in ramp["stages"])
                 + f"; now {ramp['fraction']:.0%} of users, the rest keep "
                 f"{short(ramp['from_hash'])}")
    return head + ("\n" + r["diff"] if r.get("diff") else "")


def _published(settings: Settings, name: str, result: dict[str, Any], reason: str, *,
               snapshot: bool) -> dict[str, Any]:
    """After a label move in this process, what the promote and rollback flows do after it:
    rewrite serving.json, and move the MLflow aliases when a mirror is configured."""
    from flywheel.tasks import commands
    from flywheel.tasks.serving import write_snapshot

    if snapshot:
        result["serving"] = write_snapshot(settings, reason=reason)
        for problem in result["serving"]["problems"]:
            warn(f"serving snapshot: {problem}")
    if settings.mlflow_tracking_uri and result.get("changed", True):
        result["mlflow_mirror"] = commands.follow_label_move(settings, name)
        if result["mlflow_mirror"].get("warning"):
            warn(result["mlflow_mirror"]["warning"])
    return result


@prompts_app.command("promote")
def promote(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The prompt name.")],
    ref: Annotated[str, typer.Argument(help="The version: HASH prefix, NAME:HASH or NAME@LABEL.")],
    label: LabelOption = DEFAULT_LABEL,
    reason: ReasonOption = None,
    by: ByOption = None,
    ramp: Annotated[str | None, typer.Option(
        "--ramp", help="Serve the new version to a growing share of users, one stage per "
        "healthy night, e.g. 0.05,0.2,0.5,1 or 5%,20%,50%,100% (docs/serving.md).")] = None,
    min_users: Annotated[int | None, typer.Option(
        "--min-users", help="With --ramp: users per arm a stage needs before it may advance "
        "(default: rollout.min_users_per_stage in decisions.yaml, 200).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Point NAME@LABEL at a registered version of NAME (the first promotion creates the label)."""
    from flywheel.tasks.serving.rollout import parse_stages

    settings = settings_of(ctx)
    check_label(label)
    stages = parse_stages(ramp) if ramp is not None else None
    with open_store(settings) as con:
        version = resolve_for_name(con, name, ref)  # unknown/ambiguous REF: exit 2 at once
        if stages is not None and current_label(con, name, label) in (None, version.hash):
            raise UsageError(f"--ramp: {name}@{label} must already point at another version "
                             "(the one users outside the ramp keep)")
    stage_list = list(stages) if stages else None

    def in_process() -> dict[str, Any]:
        from flywheel.tasks import commands

        result = commands.move_label_forward(settings, name, ref, label, reason, by, stage_list,
                                             min_users)
        return _published(settings, name, result, f"promote {name}@{label}",
                          snapshot=result["changed"])

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.promote import promote_flow

        return promote_flow(name=name, ref=ref, label=label, reason=reason, by=by,
                            db_path=str(settings.db_path), project_dir=str(settings.project_dir),
                            ramp=stage_list, min_users_per_stage=min_users)

    result = run_work(ctx, in_process, as_flow_run)
    emit(result, as_json, _move_human)


@prompts_app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The prompt name.")],
    label: LabelOption = DEFAULT_LABEL,
    reason: ReasonOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move NAME@LABEL back to where it was before its last promotion not yet rolled back."""
    settings = settings_of(ctx)
    with open_store(settings) as con:
        rollback_target(con, name, label)  # nothing to roll back: exit 2 before the flow starts

    def in_process() -> dict[str, Any]:
        from flywheel.tasks import commands

        result = commands.move_label_back(settings, name, label, reason, by)
        return _published(settings, name, result, f"rollback {name}@{label}", snapshot=True)

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.rollback import rollback_flow

        return rollback_flow(name=name, label=label, reason=reason, by=by,
                             db_path=str(settings.db_path), project_dir=str(settings.project_dir))

    result = run_work(ctx, in_process, as_flow_run)
    emit(result, as_json, _move_human)


def _history_human(r: dict[str, Any]) -> str:
    if not r["moves"]:
        return f"no label moves for {r['name']}"
    lines = []
    for m in r["moves"]:
        undo = f" (undoes #{m['undoes_move_id']})" if m["undoes_move_id"] else ""
        lines.append(
            f"#{m['move_id']:<4} {m['moved_at'][:19]}  {r['name']}@{m['label']}  "
            f"{short(m['from_hash'])} -> {short(m['to_hash'])}  {m['action']}{undo}  "
            f"by {m['moved_by']}" + (f": {m['reason']}" if m["reason"] else "")
        )
    return "\n".join(lines)


@prompts_app.command("history")
def history_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The prompt name.")],
    label: Annotated[str | None, typer.Option("--label", help="Only this label.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every label move of a prompt, newest first."""
    with open_store(settings_of(ctx)) as con:
        moves = history(con, name, label=label)
    emit({"name": name, "label": label, "moves": [m.to_dict() for m in moves]}, as_json,
         _history_human)


@prompts_app.command("links")
def links(
    ctx: typer.Context,
    examples: Annotated[int, typer.Option(help="How many unknown hashes to list.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """How many logged requests link to a registered version; the hashes that do not."""
    if examples < 0:
        raise UsageError("--examples must be >= 0")
    with open_store(settings_of(ctx)) as con:
        report = link_report(con, examples=examples)
    emit(report, as_json, describe_links)
