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
