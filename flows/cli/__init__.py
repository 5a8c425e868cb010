"""The ``flywheel`` command line. Each module here adds its commands to the shared app."""

from __future__ import annotations

import gc
import logging
import os
import sys

from flywheel.flows.cli import ab, data, evals, export, ingest, mirror, optimize, prompts, report, serving  # noqa: F401  (modules register their commands)
from flywheel.flows.cli.common import app, emit_error, reset_emitted
from flywheel.tasks.errors import FlywheelError


def _quiet_expected_tracebacks() -> None:
    """Prefect logs a failing task with its traceback; a FlywheelError is a message, not a bug."""
    make_record = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.exc_info and isinstance(record.exc_info[1], FlywheelError):
            record.exc_info = None
        return record

    logging.setLogRecordFactory(factory)


def main() -> None:
    """Entry point: run the app; a FlywheelError becomes one line on stderr and an exit status."""
    from flywheel.flows.cli.prefect_start import prefect_start_errors, prepare_prefect_start

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    reset_emitted()
    _quiet_expected_tracebacks()
    prepare_prefect_start()  # a first run's slow database build; imports no Prefect
    try:
        with prefect_start_errors():  # Prefect that cannot start: one line saying what to set
            app()
    except FlywheelError as exc:
        sys.stderr.write(f"error: {exc}\n")
        emit_error(str(exc), exc.exit_code, sys.argv[1:])
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


def command() -> None:
    """The installed ``flywheel`` command and ``python -m flywheel``: :func:`main` in a process
    of its own, its garbage collector set for a short life. Imports create a million long-lived
    objects (Prefect's and pydantic's models) that the default thresholds make the collector
    scan again and again, and at exit it would walk them all once more: about 0.3 + 0.6 CPU
    seconds of a nightly (BENCHMARKS.md, "Production volume")."""
    gc.set_threshold(50_000, 20, 100)
    try:
        main()
    finally:
        gc.freeze()  # what exists now lives until the process ends: not walked at exit
