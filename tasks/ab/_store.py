"""Nightly persistence of A/B reports: replacing one run date's rows in one transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from flywheel.tasks.ab._analysis import json_safe
from flywheel.tasks.db import fetch_dicts, run, sql_text, transaction

_RESULT_KEYS = ("metric", "variant", "control", "control_mean", "treatment_mean", "control_n",
                "treatment_n", "relative", "estimate", "ci_low", "ci_high", "se", "p_value",
                "p_value_adjusted", "chance_to_win", "risk_control", "risk_treatment",
                "status", "direction", "sequential", "cuped", "error")


def save_report(con: duckdb.DuckDBPyConnection, run_date: date, report: dict[str, Any],
                now: datetime | None = None) -> dict[str, int]:
    """Replace ``run_date``'s rows of ab_results, ab_checks, ab_unfiled, ab_file_errors with ``report``
    (all or nothing). Returns the row counts written."""
    now = now or datetime.now(UTC)
    results, checks, unfiled = [], [], []
    for exp in report["experiments"]:
        safe = json_safe(exp)
        for row in safe["metrics"]:
            results.append({"run_date": run_date, "experiment": exp["name"], "computed_at": now,
                            **{k: row[k] for k in _RESULT_KEYS}})
        sample = safe["sample"]
        checks.append({
            "run_date": run_date, "experiment": exp["name"], "status": exp["status"],
            "trustworthy": exp["trustworthy"], "srm_p_value": safe["checks"]["srm_p_value"],
            "assignment_mismatch_share": safe["checks"]["assignment_mismatch_share"],
            "multi_arm_users": exp["checks"]["multi_arm_users"],
            "failed_checks": exp["checks"]["failed"],
            "users": sum(a["users"] for a in exp["arms"]),
            "requests": sum(a["requests"] for a in exp["arms"]),
            "sample_needed": sample["needed"], "days_remaining": sample["days_remaining"],
            "winner": exp["winner"], "report": json.dumps(safe, ensure_ascii=False),
            "computed_at": now,
        })
    for item in report.get("unfiled_experiments", []):
        for arm in item["arms"]:
            unfiled.append({"run_date": run_date, "experiment": item["name"],
                            "variant": arm["variant"], "users": arm["users"],
                            "requests": arm["requests"], "computed_at": now})
    errors = [{"run_date": run_date, "file": e["file"], "line": e["line"], "key": e["key"],
               "message": e["message"], "computed_at": now} for e in report.get("file_errors", [])]
    with transaction(con):
        for delete in ("ab/results_delete", "ab/checks_delete", "ab/unfiled_delete",
                       "ab/file_errors_delete"):
            run(con, delete, {"run_date": run_date})
        for insert, rows in (("ab/results_insert", results), ("ab/checks_insert", checks),
                             ("ab/unfiled_insert", unfiled), ("ab/file_errors_insert", errors)):
            if rows:
                con.executemany(sql_text(insert), rows)
    return {"results": len(results), "checks": len(checks), "unfiled": len(unfiled),
            "file_errors": len(errors)}


def history(con: duckdb.DuckDBPyConnection, experiment: str) -> list[dict[str, Any]]:
    """The stored nightly estimates of one experiment, by metric, variant and date."""
    return fetch_dicts(con, "ab/results_history", {"experiment": experiment})
