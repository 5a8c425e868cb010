"""``flywheel eval run``: offline evaluation of prompt versions on an eval set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, open_store, run_work, settings_of
from flywheel.tasks.errors import UsageError

eval_app = typer.Typer(help="Offline evals of prompt versions on eval sets.",
                       no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("run")
def eval_run(
    ctx: typer.Context,
    evalset: Annotated[Path, typer.Option("--evalset", help="Eval set file (JSON Lines; docs/contracts.md, \"Eval sets\").")],
    prompt: Annotated[list[str], typer.Option(
        "--prompt", help="Prompt version REF; repeat it. The first is the baseline.")],
    repeats: Annotated[int, typer.Option(help="Samples per case and version.")] = 1,
    concurrency: Annotated[int | None, typer.Option(
        help="Calls in flight at once (default: eval_concurrency, 8).")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Call the model even when the cache has the answer.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Evaluate prompt versions on an eval set and compare each with the first."""
    from flywheel.tasks.evals import PythonChecks, endpoint_for, format_summary, load_evalset
    from flywheel.tasks.registry import resolve

    if repeats < 1:
        raise UsageError("--repeats must be at least 1")
    if concurrency is not None and concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    settings = settings_of(ctx)
    # Bad input is exit 2 before any work starts: the eval set, then every REF.
    load_evalset(evalset, python_resolver=PythonChecks(settings.project_dir))
    with open_store(settings) as con:
        for ref in prompt:
            endpoint_for(settings, resolve(con, ref).name)
    def in_process() -> dict[str, Any]:
        from flywheel.tasks.evals import call_options, in_process_executor, run_eval
        from flywheel.tasks.progress import progress_bar

        with progress_bar("eval calls", unit="calls", enabled=not as_json) as progress:
            execute = in_process_executor(call_options(settings, concurrency), progress)
            return run_eval(settings, str(evalset), list(prompt), execute=execute, repeats=repeats,
                            no_cache=no_cache, trigger="manual")

    def as_flow_run() -> dict[str, Any]:
        from flywheel.flows.offline_eval import run_offline_eval

        return run_offline_eval(settings, evalset=str(evalset), prompts=list(prompt),
                                repeats=repeats, concurrency=concurrency, no_cache=no_cache)

    # the Dask task runner is a Prefect task runner: a Dask-configured eval runs as its flow
    summary = run_work(ctx, in_process, as_flow_run,
                       needs_prefect=settings.eval_task_runner != "local")
    emit(summary, as_json, format_summary)
    if any(v["cases_scored"] == 0 for v in summary["versions"]):
        raise typer.Exit(1)


def _write(path: Path | None, text: str) -> None:
    """Write a result file (its folder created); an unwritable path is bad input."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc}") from None


@eval_app.command("gate")
def eval_gate(
    ctx: typer.Context,
    evalset: Annotated[Path, typer.Option("--evalset", help="Eval set file (JSON Lines).")],
    baseline: Annotated[str, typer.Option("--baseline", help="The baseline's REF.")],
    candidate: Annotated[str, typer.Option("--candidate", help="The candidate's REF.")],
    max_drop: Annotated[float | None, typer.Option(
        "--max-drop", help="Fail when the pass share drops by more than this many "
        "percentage points (default: no margin, only a significant regression fails).")] = None,
    alpha: Annotated[float, typer.Option(
        help="Significance level: the paired interval is at 1 - alpha.")] = 0.05,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML file.")] = None,
    summary_path: Annotated[Path | None, typer.Option(
        "--summary", help="Write a Markdown summary (for a PR comment or "
        "$GITHUB_STEP_SUMMARY).")] = None,
    repeats: Annotated[int, typer.Option(help="Samples per case and version.")] = 1,
    concurrency: Annotated[int | None, typer.Option(help="Calls in flight at once.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Gate a candidate on an eval set: exit 1 on a significant regression, a drop beyond
    --max-drop or a judge not calibrated; 0 otherwise; 2 on bad input."""
    from flywheel.tasks.evals import (
        GateOptions,
        PythonChecks,
        call_options,
        endpoint_for,
        gate_markdown,
        in_process_executor,
        junit_xml,
        load_evalset,
        run_gate,
    )
    from flywheel.tasks.registry import resolve

    if not 0 < alpha < 1:
        raise UsageError("--alpha must be between 0 and 1")
    if max_drop is not None and max_drop < 0:
        raise UsageError("--max-drop must be at least 0 (percentage points)")
    if repeats < 1:
        raise UsageError("--repeats must be at least 1")
    settings = settings_of(ctx)
    load_evalset(evalset, python_resolver=PythonChecks(settings.project_dir))
    with open_store(settings) as con:
        for ref in (baseline, candidate):
            endpoint_for(settings, resolve(con, ref).name)
    execute = in_process_executor(call_options(settings, concurrency))
    result = run_gate(settings, evalset, baseline, candidate, execute=execute, repeats=repeats,
                      options=GateOptions(alpha=alpha, max_drop_pts=max_drop))
    _write(junit, junit_xml(result))
    _write(summary_path, gate_markdown(result))
    emit(result, as_json, gate_markdown)
    if not result["passed"]:
        raise typer.Exit(1)


@eval_app.command("diff")
def eval_diff(
    ctx: typer.Context,
    run_a: Annotated[str, typer.Argument(help="The earlier eval run's id.")],
    run_b: Annotated[str, typer.Argument(help="The later eval run's id.")],
    as_json: JsonOption = False,
) -> None:
    """Per case and version, what changed between two eval runs, grouped by tag."""
    from flywheel.tasks.evals import diff_runs, format_diff

    with open_store(settings_of(ctx)) as con:
        result = diff_runs(con, run_a, run_b)
    emit(result, as_json, format_diff)


@eval_app.command("calibrate")
def eval_calibrate(
    ctx: typer.Context,
    labels: Annotated[Path, typer.Option(
        "--labels", help="JSON Lines of human verdicts: case_id, output, human (and rubric, "
        "judge if the judge's verdict is not in the eval results).")],
    judge_model: Annotated[str | None, typer.Option(
        help="The judge the labels' own judge verdicts came from (default: eval_judge_model; "
        "verdicts from the eval results name their judge).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the agreement table "
                                                           "(Markdown).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the llm-rubric judge against human verdicts: Cohen's kappa, TPR/TNR, the
    Rogan-Gladen corrected pass rate, per rubric; stored for the gate and the reports."""
    from flywheel.tasks.evals import PythonChecks, agreement_markdown, calibrate

    settings = settings_of(ctx)
    with open_store(settings) as con:
        result = calibrate(con, labels, judge_model=judge_model or settings.eval_judge_model,
                           min_kappa=settings.judge_min_kappa,
                           checks=PythonChecks(settings.project_dir))
    _write(out, agreement_markdown(result))
    emit(result, as_json, agreement_markdown)
