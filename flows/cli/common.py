"""The ``flywheel`` Typer app and what every command shares: global options and output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    import duckdb

from flywheel.flows.cli.prefect_start import configured_api_url
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.errors import UsageError

app = typer.Typer(
    name="flywheel",
    help="Make an LLM application better every night: prompts, logs, A/B statistics, evals, "
    "exports and promotion reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


T = TypeVar("T")


@dataclass(frozen=True)
class GlobalOptions:
    """The options given before the command."""

    db: Path | None
    project_dir: Path | None
    prefect: bool = False

    def settings(self) -> Settings:
        """The resolved configuration for this invocation."""
        return load_settings(db=self.db, project_dir=self.project_dir)


def _print_version(value: bool) -> None:
    if value:
        from flywheel import __version__

        sys.stdout.write(f"flywheel {__version__}\n")
        raise typer.Exit()


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
    prefect: Annotated[
        bool,
        typer.Option(
            "--prefect",
            help="Run one-off commands as Prefect flow runs (the default when a Prefect server "
            "is configured: PREFECT_API_URL); without it they run in this process.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print flywheel's version and exit.", is_eager=True,
                     callback=_print_version),
    ] = False,
) -> None:
    ctx.obj = GlobalOptions(db=db, project_dir=project_dir, prefect=prefect)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings for the running command."""
    options: GlobalOptions = ctx.obj
    return options.settings()


JsonOption = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object on stdout.")]


@contextmanager
def open_store(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the existing store, the one way commands open it: a mistyped ``--db``
    is a usage error (exit 2), never a new empty database; a busy file waits the settings'
    ``db_lock_timeout_s``."""
    from flywheel.tasks.db import connect

    if not settings.db_path.is_file():
        raise UsageError(f"no database at {settings.db_path}: run `flywheel prompts sync` or "
                         "`flywheel ingest` first (or pass --db)")
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        yield con


_EMITTED: list[bool] = []  # whether this process printed its result (see emit_error)


def emit(result: dict[str, Any], as_json: bool, human: Callable[[dict[str, Any]], str]) -> None:
    """Print a command's result: one JSON object with ``--json``, else the human text."""
    _EMITTED.append(True)
    if as_json:
        sys.stdout.write(json.dumps(result, default=str, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(human(result).rstrip("\n") + "\n")
    sys.stdout.flush()


def reset_emitted() -> None:
    """A new command starts (in-process callers run several in one process)."""
    _EMITTED.clear()


def emit_error(message: str, exit_code: int, argv: list[str]) -> None:
    """A command given ``--json`` that fails before printing its result still prints one JSON
    object on stdout: ``{"error": message, "exit_code": n}`` (the message is on stderr too)."""
    if "--json" in argv and not _EMITTED:
        sys.stdout.write(json.dumps({"error": message, "exit_code": exit_code},
                                    ensure_ascii=False) + "\n")
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


def warn(text: str) -> None:
    """One warning line on stderr (what a flow run would log as a warning)."""
    sys.stderr.write(f"warning: {text}\n")


def run_work(ctx: typer.Context, work: Callable[[], T], flow: Callable[[], T], *,
             needs_prefect: bool = False) -> T:
    """A one-off command's work: ``flow()``, a Prefect flow run, when a Prefect server is
    configured, ``--prefect`` was given (so manual runs show in the UI) or the work
    ``needs_prefect`` (a Dask task runner); else ``work()``, the same task functions called in
    this process with no Prefect server to start."""
    options: GlobalOptions = ctx.obj
    if options.prefect or needs_prefect or configured_api_url():
        with foreground_prefect():
            return flow()
    return work()


def run_in_foreground(flow_fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call a flow inside :func:`foreground_prefect` (commands import their flows lazily, so
    commands without one never import Prefect)."""
    with foreground_prefect():
        return flow_fn(*args, **kwargs)
