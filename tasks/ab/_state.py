"""The A/B analysis's nightly state: per-user sums kept per night, so a night reads that night.

Every ratio metric is a sum over an arm's users of per-user sums (``tasks/ab/_metrics.py``),
and a user's sum over the experiment is the sum of their sums per UTC night. The nightly keeps
those per-user-night sums in ``ab_user_nights`` (one row per experiment, part, night, user and
arm; part ``pre`` is the CUPED pre-period, every request of the user; ``post`` the experiment's
own requests; the pre-period's rows are shared by the experiments) and a mark per experiment in ``ab_state`` (the as-of moment and the last ingest
they took in). A night then recomputes only the nights that changed since the mark:

- the nights after the mark's as-of moment (tonight);
- nights with requests ingested after the mark (late or backfilled logs);
- nights of the requests of feedback ingested after the mark or dated after its as-of moment
  (feedback known now that was not then: mostly yesterday's requests).

Everything else is read back. The same windows also give ``ab_arm_nights``: per experiment
night and arm, the requests per logged prompt and latency bin, which the promotion report sums for
the version each arm served and its latency histogram (replaced with the sums, under the same
mark). Non-integer sums are exact decimals (``DECIMAL(38, 10)``), so the
sum over nights is the same number, to the last bit, as the sum over the raw requests, whatever
the order: the analysis from the raw logs (an earlier night, a one-off ``flywheel ab``) and from
the state agree exactly (``tests/unit/test_ab_state.py``). A change of an experiment's variants,
weights or window, of the CUPED lookback or of the metric declarations rebuilds that experiment
(the mark's ``config_key``), and so do logs deleted from the store (it holds fewer rows than at
the mark plus those ingested since); a night earlier than the mark is analysed from the raw logs and
leaves the state as it is; a re-run of the mark's night recomputes nothing and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import duckdb

from flywheel.tasks.ab._experiments import Experiment
from flywheel.tasks.ab._metric_sql import run_metric_statement, user_sums
from flywheel.tasks.ab._metrics import ratio_metrics
from flywheel.tasks.config import FEEDBACK_EARLY_LIMIT
from flywheel.tasks.db import fetch_dicts, run, sql_text, transaction
from flywheel.tasks.stats import cumulative_weights

LATENCY_BINS_PER_DECADE = 24  # the latency histograms' bins per factor of ten (reports too)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class NightWindow:
    """One UTC night of one part of an experiment, clipped to the part's bounds: [lo, hi)."""

    experiment: str
    part: str  # "pre" | "post"
    night: date
    lo: datetime
    hi: datetime


@dataclass(frozen=True)
class StatePlan:
    """What one A/B pass recomputes, and whether it keeps the result."""

    windows: tuple[NightWindow, ...]  # to compute from the raw logs
    keep: bool  # store them and read the state (False: an analysis of the raw logs only)
    rebuilt: tuple[str, ...] = ()  # experiments whose stored rows are all replaced
    incremental: tuple[str, ...] = ()  # experiments read back from the state
    marks: tuple[tuple[str, Mapping[str, Any]], ...] = ()  # the stored marks read (kept ones)


def _nights(lo: datetime, hi: datetime) -> list[tuple[date, datetime, datetime]]:
    out = []
    day = lo.astimezone(UTC).date()
    while True:
        start = datetime.combine(day, dtime.min, UTC)
        if start >= hi:
            return out
        out.append((day, max(lo, start), min(hi, start + timedelta(days=1))))
        day += timedelta(days=1)


def night_windows(exp: Experiment, end: datetime, lookback: timedelta) -> list[NightWindow]:
    """Every window of ``exp`` up to ``end`` (its file's end or the as-of moment, the earlier):
    the pre-period's nights (whole UTC nights before the start's, every request of a user: shared
    by all experiments, so their experiment is ``""``), then the experiment's own."""
    first = datetime.combine(exp.start.astimezone(UTC).date(), dtime.min, UTC)
    pre = [NightWindow("", "pre", night, lo, hi)
           for night, lo, hi in _nights(first - lookback, min(first, end))]
    return pre + [NightWindow(exp.name, "post", night, lo, hi)
                  for night, lo, hi in _nights(exp.start, end)]


def _unique(windows: list[NightWindow]) -> tuple[NightWindow, ...]:
    return tuple(dict.fromkeys(windows))


def config_key(exp: Experiment, lookback: timedelta) -> str:
    """What the stored sums of ``exp`` depend on besides the logs: a change rebuilds them."""
    sums = [(s.name, s.expression) for s in user_sums(ratio_metrics())]
    text = json.dumps({"variants": exp.variant_names,
                       "cum_weights": list(cumulative_weights(exp.weights)),
                       "start": exp.start.isoformat(),
                       "end": exp.end.isoformat() if exp.end else None,
                       "lookback_s": lookback.total_seconds(), "sums": sums,
                       "rows": sql_text("ab/night_rows_compute"),
                       "arm_rows": sql_text("ab/arm_nights_compute"),
                       "bins_per_decade": LATENCY_BINS_PER_DECADE}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _end(exp: Experiment, as_of: datetime) -> datetime:
    return exp.end if exp.end is not None and exp.end < as_of else as_of


def plan_windows(con: duckdb.DuckDBPyConnection, experiments: list[Experiment],
                 as_of: datetime | None, lookback: timedelta, *, keep: bool) -> StatePlan:
    """The windows to compute for ``experiments`` as of ``as_of``: with ``keep`` (the nightly),
    only what changed since each experiment's mark; otherwise (or for a night before a mark)
    all of them, from the raw logs, leaving the state alone."""
    if as_of is None:  # all data: up to the last request
        last = fetch_dicts(con, "ab/last_request_ts")[0]["last_ts"]
        data_end = (last + timedelta(microseconds=1)) if last is not None else _EPOCH
        raw = [w for e in experiments for w in night_windows(e, _end(e, data_end), lookback)]
        return StatePlan(_unique(raw), keep=False)
    every = {e.name: night_windows(e, _end(e, as_of), lookback) for e in experiments}
    raw_plan = StatePlan(_unique([w for ws in every.values() for w in ws]), keep=False)
    if not keep:
        return raw_plan
    marks = {r["experiment"]: r for r in fetch_dicts(
        con, "ab/state_read", {"experiments": [e.name for e in experiments]})}
    if not _table_matches(con):
        marks = {}
    if any(m["as_of"] > as_of for m in marks.values()):
        return raw_plan  # an earlier night than the state holds: from the raw logs
    held: dict[Any, dict[str, Any]] = {}  # the store's counts, once per distinct mark
    rebuilt = [e for e in experiments
               if e.name not in marks or marks[e.name]["config_key"] != config_key(e, lookback)
               or _rows_deleted(con, marks[e.name], held)]
    incremental = [e for e in experiments if e not in rebuilt]
    windows = [w for e in rebuilt for w in every[e.name]]
    if incremental:
        mark = min((marks[e.name]["ingested_through"] or _EPOCH) for e in incremental)
        old_as_of = min(marks[e.name]["as_of"] for e in incremental)
        changed = {(r["experiment"], r["part"], r["night"]) for r in fetch_dicts(
            con, "ab/state_changed_nights",
            {"experiments": [e.name for e in incremental], "mark": mark,
             "old_as_of": old_as_of, "as_of": as_of})}
        for exp in incremental:
            since = marks[exp.name]["as_of"]
            windows += [w for w in every[exp.name]
                        if w.hi > since or (w.experiment, w.part, w.night) in changed]
    return StatePlan(_unique(windows), keep=True, rebuilt=tuple(e.name for e in rebuilt),
                     incremental=tuple(e.name for e in incremental),
                     marks=tuple(marks.items()))


def _rows_deleted(con: duckdb.DuckDBPyConnection, mark: Mapping[str, Any],
                  held: dict[Any, dict[str, Any]]) -> bool:
    """Whether the store holds fewer rows than at ``mark`` plus those ingested since: logs were
    deleted (the state only ever sees them added), so the stored sums are rebuilt. ``held``
    caches the store's counts per mark (experiments marked together share one query)."""
    since = mark["ingested_through"]
    if since not in held:
        held[since] = _store_now(con, since)
    now = held[since]
    return (now["requests"] != mark["requests_seen"] + now["requests_after"]
            or now["feedback"] != mark["feedback_seen"] + now["feedback_after"])


def _store_now(con: duckdb.DuckDBPyConnection, mark: datetime | None) -> dict[str, Any]:
    return fetch_dicts(con, "schema/store_now", {"mark": mark or _EPOCH})[0]


def _table_matches(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``ab_user_nights`` exists with the columns the declarations give now (dropped
    when it does not, to be rebuilt)."""
    run(con, "ab/night_changed_create")
    compute_rows(con, (), None)  # no windows: an empty table with today's columns
    expected = fetch_dicts(con, "ab/night_rows_columns", {"table": "ab_night_rows_new"})
    stored = fetch_dicts(con, "ab/night_rows_columns", {"table": "ab_user_nights"})
    if stored and stored != expected:
        run(con, "ab/night_rows_drop")
        stored = []
    return bool(stored)


def _stretches(windows: tuple[NightWindow, ...]) -> list[tuple[datetime, datetime]]:
    """The bounds of the runs of consecutive nights among ``windows`` (one late request a month
    back costs a read of its night, not of the month)."""
    spans = sorted({(w.lo, w.hi) for w in windows})
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in spans:
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out or [(_FOREVER, _EPOCH)]  # none: one empty run gives the table its columns


def compute_rows(con: duckdb.DuckDBPyConnection, windows: tuple[NightWindow, ...],
                 as_of: datetime | None, *, arms: bool = False, per_night: bool = True) -> None:
    """``ab_night_rows_new``: the per-user sums of ``windows`` from the raw logs, with the
    feedback known by ``as_of`` (None: all), one statement per stretch of consecutive nights;
    with ``arms``, also ``ab_arm_nights_new``, the windows' per-arm counts. Without
    ``per_night`` (an analysis that keeps nothing) a user's nights of a stretch are one row,
    night NULL: the same sums (exact decimals), fewer groups."""
    run(con, "ab/night_changed_create")
    if windows:
        con.executemany(sql_text("ab/night_changed_insert"), [
            {"experiment": w.experiment, "part": w.part, "night": w.night, "lo": w.lo,
             "hi": w.hi} for w in windows])
    if arms:
        run(con, "schema/latency_bin_macro")
        run(con, "ab/arm_nights_create")
    for i, (lo, hi) in enumerate(_stretches(windows)):
        run_metric_statement(con, "ab/night_rows_compute", {
            "lo": lo, "hi": hi, "feedback_from": lo - FEEDBACK_EARLY_LIMIT,
            "feedback_early": FEEDBACK_EARLY_LIMIT, "as_of": as_of or _FOREVER,
            "per_night": per_night})
        run(con, "ab/night_rows_collect_first" if i == 0 else "ab/night_rows_collect")
        if arms and windows:
            run(con, "ab/arm_nights_compute", {"lo": lo, "hi": hi,
                                               "per_decade": LATENCY_BINS_PER_DECADE})


def apply_plan(con: duckdb.DuckDBPyConnection, plan: StatePlan, as_of: datetime | None,
               lookback: timedelta, experiments: list[Experiment],
               now: datetime | None = None) -> None:
    """Compute the plan's windows, keep them (and the marks) when the plan says so, and point
    the view ``ab_night_rows`` that the per-user pass reads at the rows to analyse."""
    compute_rows(con, plan.windows, as_of, arms=plan.keep, per_night=plan.keep)
    if not plan.keep:
        run(con, "ab/night_rows_source_raw")
        return
    assert as_of is not None
    now_held = _store_now(con, None)
    through = now_held["ingested_through"]
    marks = dict(plan.marks)
    with transaction(con):
        run(con, "ab/night_rows_table")
        run(con, "ab/night_rows_delete", {"rebuilt": list(plan.rebuilt)})
        run(con, "ab/night_rows_insert")
        run(con, "ab/arm_nights_delete", {"rebuilt": list(plan.rebuilt)})
        run(con, "ab/arm_nights_insert")
        for exp in experiments:
            key = config_key(exp, lookback)
            old = marks.get(exp.name)
            mark = {"config_key": key, "as_of": as_of, "ingested_through": through,
                    "requests_seen": now_held["requests"], "feedback_seen": now_held["feedback"]}
            if old is None or any(old[k] != v for k, v in mark.items()):
                # unchanged: not rewritten (a re-run changes nothing)
                run(con, "ab/state_write", {"experiment": exp.name, **mark,
                                             "now": now or datetime.now(UTC)})
    run(con, "ab/night_rows_source")
