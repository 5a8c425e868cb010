"""The ``flywheel`` Typer app and what every command shares: global options and output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from flywheel.tasks.config import Settings, load_settings

app = typer.Typer(
    name="flywheel",
    help="Make an LLM application better every night: prompts, logs, A/B statistics, evals, "
    "exports and promotion reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class GlobalOptions:
    """The options given before the command."""

    db: Path | None
    project_dir: Path | None

    def settings(self) -> Settings:
        """The resolved configuration for this invocation."""
        return load_settings(db=self.db, project_dir=self.project_dir)


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="DuckDB file (default: $FLYWHEEL_DB, else ./flywheel.duckdb)."),
    ] = None,
    project_dir: Annotated[
        Path | None,
        typer.Option(
            "--project-dir",
            help="Folder with prompts/, evalsets/, experiments/, reports/ "
            "(default: $FLYWHEEL_PROJECT_DIR, else the current directory).",
        ),
    ] = None,
) -> None:
    ctx.obj = GlobalOptions(db=db, project_dir=project_dir)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings for the running command."""
    options: GlobalOptions = ctx.obj
    return options.settings()


JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")]


def emit(result: dict[str, Any], as_json: bool, human: Callable[[dict[str, Any]], str]) -> None:
    """Print a command's result: one JSON object with ``--json``, else the human text."""
    if as_json:
        sys.stdout.write(json.dumps(result, default=str, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(human(result).rstrip("\n") + "\n")
    sys.stdout.flush()


@contextmanager
def foreground_prefect() -> Iterator[None]:
    """Settings for flows run inside a command's own process: no flow-run heartbeats.

    Heartbeats let a Prefect server notice that a worker's flow run died; a foreground command
    needs none, and each flow (and subflow) otherwise waits up to a second for its heartbeat
    thread when it ends (a night has ten subflows). An explicit
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY is respected; deployments run by a worker keep theirs.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY"):
        yield
        return
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def run_in_foreground(flow_fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call a flow inside :func:`foreground_prefect` (commands import their flows lazily, so
    commands without one never import Prefect)."""
    with foreground_prefect():
        return flow_fn(*args, **kwargs)
