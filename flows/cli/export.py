"""``flywheel export finetune|preferences|hard-examples|assemble|validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, run_work, settings_of

export_app = typer.Typer(help="Fine-tuning, preference and hard-example exports (validated, "
                              "redacted, deduplicated, never overlapping the eval sets).",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")

OutOption = Annotated[Path, typer.Option("--out", help="Folder to write the export into.")]
SinceOption = Annotated[str | None, typer.Option(
    "--since", help="Only feedback from this date (YYYY-MM-DD, included) on.")]
UntilOption = Annotated[str | None, typer.Option(
    "--until", help="Only feedback up to this date (included).")]


def _human(summary: dict[str, Any]) -> str:
    lines = [f"{summary['kind']}: {summary['examples']} examples written to {summary['out_dir']} "
             f"({summary['candidates']} candidates, {summary['dropped_total']} dropped)"
             + (" — unchanged since the last export" if summary.get("unchanged") else "")]
    lines += [f"  {name}: {f['lines']} lines, sha256 {f['sha256'][:12]}"
              for name, f in summary["files"].items()]
    for category, value in summary["dropped"].items():
        detail = (", ".join(f"{r} {n}" for r, n in value.items())
                  if isinstance(value, dict) else str(value))
        lines.append(f"  dropped {category}: {detail}")
    lines.append(f"  manifest: {summary['manifest']}")
    return "\n".join(lines)


def _run(ctx: typer.Context, kind: str, out: Path, since: str | None,
         until: str | None, as_json: bool) -> None:
    from flywheel.tasks.export import EXPORTERS, Window

    window = Window.parse(since, until)  # bad dates: exit 2 before any work starts
    settings = settings_of(ctx)

    def in_process() -> dict[str, Any]:
        return {kind: EXPORTERS[kind](settings, out, window)}

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.export import export_flow

        return export_flow(out_dir=str(out), kinds=[kind], db_path=str(settings.db_path),
                           project_dir=str(settings.project_dir), since=since, until=until)

    results = run_work(ctx, in_process, as_flow_run)
    emit(results[kind], as_json, _human)


@export_app.command("finetune")
def finetune(ctx: typer.Context, out: OutOption, since: SinceOption = None,
             until: UntilOption = None, as_json: JsonOption = False) -> None:
    """Corrected requests as OpenAI chat fine-tuning JSONL: train.jsonl, validation.jsonl."""
    _run(ctx, "finetune", out, since, until, as_json)


@export_app.command("preferences")
def preferences(ctx: typer.Context, out: OutOption, since: SinceOption = None,
                until: UntilOption = None, as_json: JsonOption = False) -> None:
    """(original, corrected) pairs in OpenAI's preference fine-tuning format."""
    _run(ctx, "preferences", out, since, until, as_json)


@export_app.command("hard-examples")
def hard_examples(ctx: typer.Context, out: OutOption, since: SinceOption = None,
                  until: UntilOption = None, as_json: JsonOption = False) -> None:
    """Disliked or corrected requests as candidate eval cases, for review."""
    _run(ctx, "hard-examples", out, since, until, as_json)


@export_app.command("assemble")
def assemble(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="finetune, preferences or hard-examples.")],
    out: OutOption, since: SinceOption = None, until: UntilOption = None,
    as_json: JsonOption = False,
) -> None:
    """One cumulative export from the nightly parts in exports/<date>/ (deduplicated across
    nights, eval-set cases dropped again against the eval sets as they are now)."""
    from datetime import date

    from flywheel.tasks.errors import UsageError
    from flywheel.tasks.export import assemble_parts

    try:
        first, last = (date.fromisoformat(d) if d else None for d in (since, until))
    except ValueError:
        raise UsageError("--since/--until: expected YYYY-MM-DD") from None
    summary = assemble_parts(settings_of(ctx), kind, out, first, last)
    emit(summary, as_json, lambda s: (
        f"{kind}: {s['examples']} examples from {len(s['parts'])} nightly parts written to "
        f"{s['out_dir']} ({s['dropped_total']} dropped: {s['dropped'] or 'none'})"))


def _validation_human(report: dict[str, Any]) -> str:
    lines = [f"{report['file']}: {report['examples']} examples, {report['valid']} valid, "
             f"{report['invalid']} invalid (model {report['model']}, {report['tokenizer']}, "
             f"limit {report['token_limit']} tokens)"]
    lines += [f"  error {code}: {n}" for code, n in report["errors"].items()]
    lines += [f"  warning {code}: {n}" for code, n in report["warnings"].items()]
    for entry in report["lines"]:
        found = [*entry["errors"], *(f"warning {w}" for w in entry["warnings"])]
        lines.append(f"  line {entry['line']}: {', '.join(found)}"
                     + (f" ({entry['tokens']} tokens)" if entry["tokens"] is not None else ""))
    tokens = report["distributions"]["tokens_per_example"]
    if tokens:
        lines.append(f"  tokens per example: min {tokens['min']:g}, median {tokens['median']:g}, "
                     f"max {tokens['max']:g}")
    return "\n".join(lines)


@export_app.command("validate")
def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A chat fine-tuning JSONL file.")],
    model: Annotated[str | None, typer.Option(
        help="Model whose tokenizer and example limit apply (default: the export model).")] = None,
    max_tokens: Annotated[int | None, typer.Option(
        "--max-tokens", help="Override the per-example token limit.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a JSONL file with OpenAI's fine-tuning data checks; exit 1 if any line is invalid."""
    from flywheel.tasks.export import validate_file

    report = validate_file(settings_of(ctx), file, model=model, max_tokens=max_tokens)
    emit(report, as_json, _validation_human)
    if not report["ok"]:
        raise typer.Exit(1)
