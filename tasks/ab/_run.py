"""Running the A/B analysis against the store: load experiment files, aggregate the logs in
DuckDB, analyse every experiment, and (nightly) persist the report."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import duckdb

from flywheel.tasks.ab._aggregate import aggregate
from flywheel.tasks.ab._analysis import Thresholds, analyze_experiment, json_safe
from flywheel.tasks.ab._bandit import read_strata, run_allocation
from flywheel.tasks.ab._experiments import Experiment, load_experiment_files
from flywheel.tasks.ab._store import save_report
from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry import known_names, resolve


def as_of_moment(run_date: date | None) -> datetime | None:
    """Results "as of the end of a date": everything with ts < date + 1 day, 00:00 UTC."""
    if run_date is None:
        return None
    return datetime.combine(run_date + timedelta(days=1), dtime.min, UTC)


def thresholds_of(settings: Settings) -> Thresholds:
    """The integrity thresholds and target power configured in ``settings``."""
    return Thresholds(srm_p_value=settings.ab_srm_p_threshold,
                      max_mismatch_share=settings.ab_max_mismatch_share,
                      max_multi_arm_share=settings.ab_max_multi_arm_share,
                      target_power=settings.ab_target_power)


def select_experiments(experiments: list[Experiment], name: str | None) -> list[Experiment]:
    """All experiments, or the one named (a UsageError listing the known names otherwise)."""
    if name is None:
        return experiments
    chosen = [e for e in experiments if e.name == name]
    if not chosen:
        known = ", ".join(e.name for e in experiments) or "none"
        raise UsageError(f"unknown experiment {name!r}; experiment files define: {known}")
    return chosen


def missing_versions(con: duckdb.DuckDBPyConnection, experiments: list[Experiment]
                     ) -> dict[str, dict[str, str]] | None:
    """Per experiment, the variants whose prompt REF names no registered version (a label not
    set, a hash or a prompt never registered): variant -> the registry's reason. None when the
    store has no registry to check against (no prompt ever synced: an analysis of logs only)."""
    if not known_names(con):
        return None
    out: dict[str, dict[str, str]] = {}
    for exp in experiments:
        for variant, ref in exp.variants.items():
            try:
                resolve(con, ref)
            except UsageError as exc:
                out.setdefault(exp.name, {})[variant] = str(exc)
    return out


def build_report(settings: Settings, run_date: date | None = None,
                 experiment: str | None = None, *, skip_bad_files: bool = False,
                 keep_state: bool = False) -> dict[str, Any]:
    """The A/B report of every experiment file (or one) as of the end of ``run_date`` (None:
    all data). JSON-ready: the shape of docs/contracts.md, "Command line", plus extra keys.
    A bad experiment file is an :class:`ExperimentFileError`, or with ``skip_bad_files`` (the
    nightly run) costs that experiment only: its error is listed under ``file_errors``. With
    ``keep_state`` (the nightly run) the per-user sums come from the nightly state
    (``tasks/ab/_state.py``); the numbers are the same either way."""
    loaded, problems = load_experiment_files(settings.dir("experiments"))
    if problems and not skip_bad_files:
        raise next(iter(problems.values()))
    experiments = select_experiments(list(loaded.values()), experiment)
    as_of = as_of_moment(run_date)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        aggregates = aggregate(con, experiments, as_of,
                               cuped_lookback=timedelta(days=settings.ab_cuped_lookback_days),
                               keep_state=keep_state and experiment is None)
        strata = read_strata(con, experiments, as_of)  # bandits: per allocation period
        missing = missing_versions(con, experiments)
    started = time.perf_counter()
    thresholds = thresholds_of(settings)
    reports = [analyze_experiment(data, thresholds, as_of, strata.get(data.experiment.name),
                                  missing_versions=None if missing is None
                                  else missing.get(data.experiment.name, {}))
               for data in aggregates.experiments]
    unfiled = _unfiled(aggregates.unfiled) if experiment is None else []
    python_seconds = time.perf_counter() - started
    return json_safe({
        "date": run_date.isoformat() if run_date else None,
        "as_of": as_of.isoformat() if as_of else None,
        "experiments": reports,
        "unfiled_experiments": unfiled,
        "file_errors": [problems[stem].to_dict() for stem in sorted(problems)],
        "timings": {"sql_seconds": aggregates.sql_seconds, "python_seconds": python_seconds,
                    "sql_steps": aggregates.sql_steps,
                    "nights_computed": aggregates.nights_computed,
                    "from_state": aggregates.from_state},
    })


def _unfiled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = by_name.setdefault(row["experiment"], {
            "name": row["experiment"], "arms": [], "requests": 0,
            "first_seen": row["first_ts"], "last_seen": row["last_ts"],
            "note": "seen in the logs but no experiments/<name>.yaml: not analysed"})
        item["arms"].append({"variant": row["variant"], "users": int(row["users"]),
                             "requests": int(row["requests"])})
        item["requests"] += int(row["requests"])
        item["first_seen"] = min(item["first_seen"], row["first_ts"])
        item["last_seen"] = max(item["last_seen"], row["last_ts"])
    return list(by_name.values())


def run_nightly_analysis(settings: Settings, run_date: date) -> dict[str, Any]:
    """Analyse every experiment as of the end of ``run_date`` and replace that date's stored
    results. Returns the report with the counts written under ``stored``."""
    report = build_report(settings, run_date, skip_bad_files=True, keep_state=True)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        report["stored"] = save_report(con, run_date, report)
    return report


def run_nightly_allocation(settings: Settings, run_date: date,
                           now: datetime | None = None) -> dict[str, Any]:
    """The ``allocate`` step: the next day's weights of every running bandit experiment, from
    the night's stored A/B reports (docs/statistics.md, "Adaptive allocation")."""
    # a bad file is the A/B step's to report (ab_file_errors); it costs this step nothing
    loaded, _problems = load_experiment_files(settings.dir("experiments"))
    experiments = list(loaded.values())
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        allocations = run_allocation(con, experiments, run_date, now or datetime.now(UTC))
    return {"date": run_date.isoformat(), "experiments": allocations}
