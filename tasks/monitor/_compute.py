"""One night of production monitoring: metrics per prompt version, drift, alerts (persisted).

DuckDB does the work over the logs (``sql/monitor/``): one pass builds the night's window (the
night and its baseline nights) with hashes resolved and feedback joined, a second aggregates it
per night and version. Python only applies the rules of :mod:`flywheel.tasks.monitor._rules` to those
aggregates. The baseline nights are recomputed from the logs every night rather than read back
from earlier runs, so a night's result does not depend on which other nights were run, and a
re-run of a night replaces its rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import duckdb

from flywheel.tasks.config import FEEDBACK_EARLY_LIMIT, Settings
from flywheel.tasks.db import connect, fetch_dicts, run, transaction
from flywheel.tasks.monitor import _rules as rules


@dataclass(frozen=True)
class Alert:
    """One thing the night's monitoring wants a person to look at."""

    run_date: date
    prompt_name: str | None
    prompt_hash: str | None
    model: str | None
    kind: str  # drift | psi | unknown_prompt_hash | new_model
    severity: str  # warning | critical
    metric: str
    value: float | None
    baseline: float | None
    limit_low: float | None
    limit_high: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        out = asdict(self)
        out["run_date"] = self.run_date.isoformat()
        return out


@dataclass
class MonitorResult:
    """What one night's monitoring computed and found."""

    run_date: date
    versions: int = 0
    requests: int = 0
    alerts: list[Alert] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts for the runs table and the nightly summary; the alerts as dicts."""
        by_kind: dict[str, int] = {}
        for alert in self.alerts:
            by_kind[alert.kind] = by_kind.get(alert.kind, 0) + 1
        return {
            "run_date": self.run_date.isoformat(), "versions": self.versions,
            "requests": self.requests, "alerts": len(self.alerts),
            "critical": sum(a.severity == "critical" for a in self.alerts),
            "alerts_by_kind": by_kind, "notes": list(self.notes),
            "alert_list": [a.to_dict() for a in self.alerts],
        }


def _bounds(night: date, baseline_nights: int) -> dict[str, datetime]:
    start = datetime.combine(night, time.min, UTC)
    return {"window_start": start - timedelta(days=baseline_nights), "night_start": start,
            "night_end": start + timedelta(days=1)}


def version_label(prompt_name: str | None, prompt_hash: str | None, model: str | None) -> str:
    """How a message names a prompt version: ``support 1a2b3c4d5e6f on gpt-4o-mini``."""
    name = prompt_name or "(no prompt name)"
    short = prompt_hash[:12] if prompt_hash else "(no hash)"
    return f"{name} {short}" + (f" on {model}" if model else "")


def format_value(metric: str, value: float | None) -> str:
    """A metric value as a person reads it."""
    if value is None:
        return "n/a"
    if metric.endswith("_rate"):
        return f"{value:.2%}"
    if metric.endswith("_ms"):
        return f"{value:,.0f} ms"
    if metric == "cost_per_request":
        return f"${value:.6f}"
    if metric == "requests":
        return f"{value:,.0f}"
    return f"{value:,.4g}"


def _window(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> None:
    """The window's temporary tables: the baseline nights whose metrics and token counts are
    stored are read back, the others (and tonight) computed from their requests."""
    stored = [row[0] for row in run(con, "monitor/stored_nights", {
        k: params[k] for k in ("window_start", "night_start")}).fetchall()]
    raw_start = params["window_start"]
    while raw_start.date() in stored:
        raw_start += timedelta(days=1)
    run(con, "monitor/window", {"raw_start": raw_start, "night_end": params["night_end"],
                                "stored": stored, "feedback_early": FEEDBACK_EARLY_LIMIT})
    run(con, "monitor/window_metrics", {"stored": stored})
    run(con, "monitor/window_tokens", {"stored": stored})


def run_monitoring(settings: Settings, run_date: date) -> MonitorResult:
    """Compute, judge and persist one night's monitoring (replacing that night's earlier rows)."""
    result = MonitorResult(run_date=run_date)
    params = {"run_date": run_date, **_bounds(run_date, settings.monitor_baseline_nights)}
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        _window(con, params)
        tonight = fetch_dicts(con, "monitor/metrics_of_window_night", {"run_date": run_date})
        result.versions = len(tonight)
        result.requests = sum(int(r["requests"]) for r in tonight)
        if not tonight:
            result.notes.append(f"no requests on {run_date}")
        result.alerts += _drift_alerts(con, settings, run_date)
        result.alerts += _psi_alerts(con, settings, run_date)
        result.alerts += _unknown_hash_alerts(con, run_date, result.notes)
        result.alerts += _new_model_alerts(con, run_date, params)
        with transaction(con):
            run(con, "monitor/delete_night_metrics", {"run_date": run_date})
            run(con, "monitor/delete_night_alerts", {"run_date": run_date})
            run(con, "monitor/save_metrics", {"run_date": run_date})
            run(con, "monitor/delete_night_token_counts", {"run_date": run_date})
            run(con, "monitor/save_token_counts", {"run_date": run_date})
            for alert in result.alerts:
                run(con, "monitor/insert_alert", asdict(alert))
    return result


def _drift_alerts(con: duckdb.DuckDBPyConnection, settings: Settings, night: date) -> list[Alert]:
    rows = fetch_dicts(con, "monitor/drift_candidates", {
        "run_date": night, "min_count": settings.monitor_min_count,
        "min_count_p95": rules.quantile_min_count(0.95, settings.monitor_min_count),
        "min_count_p99": rules.quantile_min_count(0.99, settings.monitor_min_count),
        "min_nights": max(2, settings.monitor_min_baseline_nights),
    })
    judged = [_judge_drift(row, settings) for row in rows]
    # one family a night: every metric × version judged tonight (docs/monitoring.md)
    adjusted = rules.family_adjusted([j[2] for j in judged])
    alerts = []
    for row, (limits, side, p_value, test), p_family in zip(rows, judged, adjusted, strict=True):
        if side is None or limits is None or p_family >= rules.ONE_SIDED_ALPHA:
            continue
        evidence = (f"; {test} p = {p_value:.2g}, Holm-adjusted over the night's {len(rows)} "
                    f"tests p = {p_family:.2g}")
        label = version_label(row["prompt_name"], row["prompt_hash"], row["model"])
        metric = row["metric"]
        alerts.append(Alert(
            run_date=night, prompt_name=row["prompt_name"], prompt_hash=row["prompt_hash"],
            model=row["model"], kind="drift", severity="critical", metric=metric,
            value=row["value"], baseline=limits.center, limit_low=limits.low,
            limit_high=limits.high,
            message=(f"{label}: {metric} {format_value(metric, row['value'])} is {side} its "
                     f"control limits {format_value(metric, limits.low)} – "
                     f"{format_value(metric, limits.high)} ({row['nights']}-night baseline mean "
                     f"{format_value(metric, limits.center)}{evidence})"),
        ))
    return alerts


def _judge_drift(row: dict[str, Any], settings: Settings
                 ) -> tuple[rules.Limits | None, Literal["above", "below"] | None, float, str]:
    """(limits, side beyond them or None, the night's p-value for the family, test name): a
    row within its limits cannot alert and enters the family with p = 1; a metric harmful in
    both directions doubles its one-sided p (either side could have alerted)."""
    metric = row["metric"]
    limits = rules.control_limits(row["mean"], row["sd"], int(row["nights"]),
                                  settings.monitor_min_relative_change)
    side = rules.side_of(row["value"], limits, rules.METRIC_DIRECTIONS[metric])
    if side is None:
        return limits, None, 1.0, ""
    p_value, test = _sampling_evidence(row, side)
    if rules.METRIC_DIRECTIONS[metric] == "both":
        p_value = min(1.0, 2 * p_value)
    return limits, side, p_value, test


def _sampling_evidence(row: dict[str, Any], side: Literal["above", "below"]) -> tuple[float, str]:
    """How surprising tonight's own sample is against the baseline's centre (one-sided)."""
    metric, n = row["metric"], int(row["n"])
    if metric in rules.RATE_METRICS:
        successes = round(row["value"] * n)
        return rules.rate_shift_p_value(successes, n, row["pooled"], int(row["base_n"]), side), "binomial"
    if metric == "requests":
        return rules.count_shift_p_value(int(row["value"]), row["mean"], side), "Poisson"
    if metric in rules.QUANTILE_OF:
        return rules.quantile_shift_p_value(rules.QUANTILE_OF[metric], int(row["n_obs"]),
                                            int(row["n_below"]), int(row["n_at_or_below"]), side), \
            "quantile"
    if metric in rules.MEAN_METRICS:
        return rules.mean_shift_p_value(row["value"], row["mean"], row["sd_tonight"],
                                        int(row["n_obs"] or 0), side), "z"
    raise ValueError(f"no sampling test for metric {metric!r}")


def _psi_alerts(con: duckdb.DuckDBPyConnection, settings: Settings, night: date) -> list[Alert]:
    rows = fetch_dicts(con, "monitor/psi", {
        "run_date": night, "eps": rules.PSI_EPSILON, "min_count": settings.monitor_psi_min_count,
    })
    p_values = [rules.psi_p_value(row["chi2"], int(row["bins"])) for row in rows]
    alerts = []
    for row, p_value, p_family in zip(rows, p_values, rules.family_adjusted(p_values), strict=True):
        severity = rules.psi_severity(row["psi"], p_family)
        if severity is None:
            continue
        label = version_label(row["prompt_name"], row["prompt_hash"], row["model"])
        shift = "significant" if severity == "critical" else "moderate"
        alerts.append(Alert(
            run_date=night, prompt_name=row["prompt_name"], prompt_hash=row["prompt_hash"],
            model=row["model"], kind="psi", severity=severity, metric=f"{row['measure']}_psi",
            value=row["psi"], baseline=0.0, limit_low=None,
            limit_high=rules.PSI_CRITICAL if severity == "critical" else rules.PSI_WARNING,
            message=(f"{label}: {shift} shift of {row['measure'].replace('_', ' ')} "
                     f"(PSI {row['psi']:.3f} over {row['bins']} bins, {row['tonight_n']} requests "
                     f"tonight vs {row['baseline_n']} in the baseline; χ² p = {p_value:.2g}, "
                     f"Holm-adjusted over the night's {len(rows)} tests p = {p_family:.2g})"),
        ))
    return alerts


def _unknown_hash_alerts(con: duckdb.DuckDBPyConnection, night: date, notes: list[str]) -> list[Alert]:
    if not int(run(con, "monitor/registry_size").fetchone()[0]):
        notes.append("the prompt registry is empty: unknown-hash check skipped")
        return []
    alerts = []
    for row in fetch_dicts(con, "monitor/unknown_hashes", {"run_date": night}):
        what = ("matches no registered prompt version" if row["hash_matches"] == 0
                else f"is an ambiguous prefix of {row['hash_matches']} registered versions")
        alerts.append(Alert(
            run_date=night, prompt_name=row["prompt_name"], prompt_hash=row["prompt_hash"],
            model=None, kind="unknown_prompt_hash", severity="critical", metric="prompt_hash",
            value=float(row["requests"]), baseline=None, limit_low=None, limit_high=None,
            message=(f"{row['prompt_name'] or '(no prompt name)'}: logged prompt hash "
                     f"{row['prompt_hash']} {what} ({row['requests']} requests tonight); "
                     "was a prompt changed in production without being registered?"),
        ))
    return alerts


def _new_model_alerts(con: duckdb.DuckDBPyConnection, night: date, params: dict[str, Any]) -> list[Alert]:
    rows = fetch_dicts(con, "monitor/new_models",
                       {k: params[k] for k in ("night_start", "night_end")})
    return [
        Alert(
            run_date=night, prompt_name=row["prompt_name"], prompt_hash=None, model=row["model"],
            kind="new_model", severity="warning", metric="model", value=float(row["requests"]),
            baseline=None, limit_low=None, limit_high=None,
            message=(f"model {row['model']} was never seen before tonight "
                     f"({row['requests']} requests, e.g. prompt {row['prompt_name'] or '(none)'})"),
        )
        for row in rows
    ]


def alerts_for_date(db_path: str, run_date: date | str) -> list[dict[str, Any]]:
    """The persisted alerts of one night, most severe first (for reports)."""
    night = date.fromisoformat(run_date) if isinstance(run_date, str) else run_date
    with connect(db_path) as con:
        return fetch_dicts(con, "monitor/alerts_for_date", {"run_date": night})


def metrics_for_date(db_path: str, run_date: date | str) -> list[dict[str, Any]]:
    """The persisted metrics of one night, one row per prompt version (for reports)."""
    night = date.fromisoformat(run_date) if isinstance(run_date, str) else run_date
    with connect(db_path) as con:
        return fetch_dicts(con, "monitor/metrics_for_date", {"run_date": night})


def metrics_between(db_path: str, first: date | str, last: date | str) -> list[dict[str, Any]]:
    """The persisted metrics of a range of nights (trend charts in reports)."""
    lo = date.fromisoformat(first) if isinstance(first, str) else first
    hi = date.fromisoformat(last) if isinstance(last, str) else last
    with connect(db_path) as con:
        return fetch_dicts(con, "monitor/metrics_between", {"first": lo, "last": hi})
