"""The ``nightly-range`` flow: the nightly flywheel for each date of a range, in order, as
subflows of one flow run (``flywheel nightly --from --to`` and ``flywheel demo`` run it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from prefect import flow
from prefect.states import Completed, Failed, State

from flywheel.flows.night import GivenSettings, resolve_settings
from flywheel.flows.nightly import NightlyFailed, nightly_flywheel
from flywheel.tasks.config import Settings
from flywheel.tasks.db import held_open
from flywheel.tasks.errors import UsageError
from flywheel.tasks.lock import nightly_lock
from flywheel.tasks.progress import Progress


@dataclass(frozen=True)
class NightResult:
    """How one night of a range ended: ``summary`` holds every step's status (also when the
    night failed), ``error`` why it failed."""

    run_date: date
    ok: bool
    summary: dict[str, Any] | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The night as JSON-ready data (the commands' ``--json`` output)."""
        out: dict[str, Any] = {"run_date": self.run_date.isoformat(), "ok": self.ok,
                               "summary": self.summary}
        if not self.ok:
            out["error"] = self.error
        return out


def dates_between(first: date, last: date) -> list[date]:
    """Every date from ``first`` to ``last``, both included."""
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _night(run_date: date, settings: Settings) -> NightResult:
    state = nightly_flywheel(run_date=run_date, settings=GivenSettings(settings), return_state=True)
    value = state.result(raise_on_failure=False)
    if state.is_completed():
        return NightResult(run_date, True, value)
    summary = value.summary if isinstance(value, NightlyFailed) else None
    return NightResult(run_date, False, summary, str(value))


@flow(name="nightly-range")
def nightly_range(
    first: date, last: date | None = None, db_path: str | None = None,
    project_dir: str | None = None, settings: GivenSettings | None = None,
    progress: Progress | None = None,
) -> State:
    """Run the nightly flywheel for every date from ``first`` to ``last`` (default: ``first``)
    in order; a failed night does not stop the next. The database's nightly lock is held across
    the range, so no other nightly run slips in between two of its nights. The flow fails when
    a night failed; its data is every night's :class:`NightResult` either way. ``progress``
    (a command's progress bar) hears of each night as it ends."""
    resolved = resolve_settings(settings, db_path, project_dir)
    nights = dates_between(first, last or first)
    progress = progress or Progress()
    results: list[NightResult] = []
    purpose = f"nightly {nights[0]}" + (f" .. {nights[-1]}" if len(nights) > 1 else "")
    with nightly_lock(resolved.db_path, timeout_s=resolved.nightly_lock_timeout_s, purpose=purpose), \
            held_open(resolved.db_path, timeout_s=resolved.db_lock_timeout_s,
                      memory_limit=resolved.db_memory_limit):
        progress.set_total(len(nights))
        for night in nights:
            results.append(_night(night, resolved))
            progress.advance()
    failed = [r for r in results if not r.ok]
    if failed:
        return Failed(message=f"{len(failed)} of {len(results)} nights failed: "
                      + "; ".join(f"{r.run_date}: {r.error}" for r in failed), data=results)
    return Completed(message=f"{len(results)} nights ok", data=results)
