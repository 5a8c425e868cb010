"""What the store says about each prompt for one night: the versions, the experiments, the
offline evals, production since its promotion, monitoring alerts, earlier decisions.

Everything is read as of the end of the night (requests, feedback and A/B results up to it;
labels where they stood then, see ``sql/reports/labels_as_of.sql``), so re-making an old
night's reports gives the same evidence as long as nothing about that night changed. Every
statement is in ``sql/reports/``; no log row reaches Python except the few feedback examples.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from flywheel.tasks.ab import LATENCY_BINS_PER_DECADE, allocation_rows, as_of_moment
from flywheel.tasks.config import FEEDBACK_EARLY_LIMIT
from flywheel.tasks.db import fetch_dicts, run
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry import SHORT_HASH_LEN, diff_versions, lineage_of, resolve
from flywheel.tasks.reports import _rollback as rollback
from flywheel.tasks.reports._rules import DecisionRules
from flywheel.tasks.reports._text import cut

PRODUCTION, CANDIDATE = "production", "candidate"
PER_DECADE = LATENCY_BINS_PER_DECADE  # latency histogram bins per factor of ten
EXAMPLES_PER_ARM = 2
REGRESSIONS_SHOWN = 20
HISTORY_NIGHTS = 14
OUTPUT_CHARS = 600
INPUT_CHARS = 300


@dataclass(frozen=True)
class Night:
    """The night a report is made for."""

    run_date: date

    @property
    def as_of(self) -> datetime:
        """The end of the night (UTC): everything before it counts."""
        moment = as_of_moment(self.run_date)
        assert moment is not None
        return moment

    @property
    def start(self) -> datetime:
        """The start of the night's day (UTC)."""
        return self.as_of - timedelta(days=1)


def short(hash_: str | None) -> str | None:
    """The 12-character form of a hash."""
    return hash_[:SHORT_HASH_LEN] if hash_ else None


def labels_as_of(con: duckdb.DuckDBPyConnection, night: Night) -> dict[str, dict[str, str]]:
    """prompt name → label → hash, for the production and candidate labels at the night."""
    out: dict[str, dict[str, str]] = {}
    for row in fetch_dicts(con, "reports/labels_as_of",
                           {"as_of": night.as_of, "labels": [PRODUCTION, CANDIDATE]}):
        out.setdefault(row["name"], {})[row["label"]] = row["hash"]
    return out


def _resolve(con: duckdb.DuckDBPyConnection, ref: str | None,
             labels: dict[str, dict[str, str]]) -> str | None:
    """The hash a REF named at the night (labels as of the night), or None if unknown."""
    if not ref:
        return None
    if "@" in ref:
        name, label = ref.split("@", 1)
        if label in (PRODUCTION, CANDIDATE):
            return labels.get(name, {}).get(label)
    try:
        return resolve(con, ref).hash
    except UsageError:
        return None


def _version_names(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, str]:
    return {r["hash"]: r["name"] for r in fetch_dicts(con, "reports/version_names",
                                                      {"hashes": hashes})}


def _prompt_of_ref(ref: str | None) -> str | None:
    if not ref:
        return None
    for sep in ("@", ":"):
        if sep in ref:
            return ref.split(sep, 1)[0]
    return None


def _history(con: duckdb.DuckDBPyConnection, experiment: str, night: Night
             ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in fetch_dicts(con, "reports/ab_history",
                           {"experiment": experiment, "run_date": night.run_date}):
        point = {k: row[k] for k in ("estimate", "ci_low", "ci_high", "p_value",
                                     "p_value_adjusted", "chance_to_win", "status",
                                     "control_n", "treatment_n")}
        point["run_date"] = row["run_date"].isoformat()
        out.setdefault(row["metric"], {}).setdefault(row["variant"], []).append(point)
    return out


def _examples(con: duckdb.DuckDBPyConnection, experiment: str, start: datetime,
              night: Night, arms: list[str]) -> list[dict[str, Any]]:
    """The latest commented or corrected requests of each arm: the night's first, reaching back
    (4x further each time, to the experiment's start at most) only while an arm is short."""
    reach = timedelta(days=1)
    while True:
        since = max(start, night.as_of - reach)
        rows = fetch_dicts(con, "reports/feedback_examples", {
            "experiment": experiment, "since": since, "as_of": night.as_of,
            "per_arm": EXAMPLES_PER_ARM, "feedback_early": FEEDBACK_EARLY_LIMIT})
        found = Counter(r["grp"] for r in rows)
        if since == start or all(found[arm] >= EXAMPLES_PER_ARM for arm in arms):
            break
        reach *= 4
    return [{"group": r["grp"], "request_id": r["request_id"],
             "ts": r["ts"].astimezone(UTC).isoformat(timespec="seconds"),
             "input": cut(r["input"], INPUT_CHARS), "output": cut(r["output"], OUTPUT_CHARS),
             "correction": cut(r["correction"], OUTPUT_CHARS) if r["correction"] else None,
             "comment": cut(r["comment"], OUTPUT_CHARS) if r["comment"] else None,
             "thumbs": None if r["thumbs"] is None else int(r["thumbs"]),
             "rating": None if r["rating"] is None else int(r["rating"])} for r in rows]


def _kept_by_ab(con: duckdb.DuckDBPyConnection, names: list[str], night: Night) -> set[str]:
    """The experiments whose A/B state is as of the night: their per-arm counts are read from
    it (``ab_arm_nights``), the others' from the requests."""
    return {r["experiment"] for r in fetch_dicts(con, "reports/arm_state_current",
                                                 {"experiments": names, "as_of": night.as_of})}


def _latency_hist(con: duckdb.DuckDBPyConnection, experiment: str, start: datetime,
                  end: datetime, night: Night) -> dict[str, list[tuple[int, int]]]:
    """Each arm's latency bins from the experiment's start to its end (the night's end at most)."""
    out: dict[str, list[tuple[int, int]]] = {}
    if _kept_by_ab(con, [experiment], night):
        rows = fetch_dicts(con, "reports/latency_hist_arms_kept", {"experiment": experiment})
    else:
        run(con, "schema/latency_bin_macro")
        rows = fetch_dicts(con, "reports/latency_hist_arms", {
            "experiment": experiment, "start": start, "end": end, "per_decade": PER_DECADE})
    for row in rows:
        out.setdefault(row["grp"], []).append((int(row["bin"]), int(row["n"])))
    return out


def _arm_hashes(con: duckdb.DuckDBPyConnection, names: list[str], night: Night
                ) -> dict[str, dict[str, str]]:
    """experiment → arm → the version it served most (from the logs)."""
    out: dict[str, dict[str, str]] = {}
    kept = _kept_by_ab(con, names, night)
    for row in fetch_dicts(con, "reports/arm_versions", {
            "experiments": [n for n in names if n not in kept], "kept": sorted(kept),
            "as_of": night.as_of}):
        out.setdefault(row["experiment"], {}).setdefault(row["variant"], row["version_hash"])
    return out


def experiments_of_night(con: duckdb.DuckDBPyConnection, night: Night,
                         labels: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """The experiments the A/B analysis stored for the night that had started by its end,
    each with the version every arm served and the prompt it tests."""
    reports = [json.loads(r["report"]) for r in fetch_dicts(con, "reports/ab_night",
                                                           {"run_date": night.run_date})]
    reports = [r for r in reports
               if datetime.fromisoformat(r["start"]) < night.as_of
               and (r.get("end") is None or datetime.fromisoformat(r["end"]) > night.start)]
    served = _arm_hashes(con, [r["name"] for r in reports], night)
    out = []
    for report in reports:
        arms: dict[str, dict[str, Any]] = {}
        for arm in report["arms"]:
            logged = served.get(report["name"], {}).get(arm["variant"])
            arms[arm["variant"]] = {**arm, "hash": logged or _resolve(con, arm.get("prompt"),
                                                                       labels),
                                    "hash_from": "logs" if logged else "experiment file"}
        control = arms.get(report["control"], {})
        prompt = _prompt_of_ref(control.get("prompt"))
        if prompt is None and control.get("hash"):
            prompt = _version_names(con, [control["hash"]]).get(control["hash"])
        out.append({**report, "arm_versions": arms, "prompt": prompt})
    return out


def _experiment_evidence(con: duckdb.DuckDBPyConnection, exp: dict[str, Any], night: Night,
                         production: str | None) -> dict[str, Any]:
    start = datetime.fromisoformat(exp["start"])
    clock = night.as_of
    if exp.get("end"):
        clock = min(clock, datetime.fromisoformat(exp["end"]))
    control_hash = exp["arm_versions"].get(exp["control"], {}).get("hash")
    return {
        **exp,
        "days_running": max(0.0, (clock - start).total_seconds() / 86400),
        "control_hash": control_hash,
        "control_is_production": production is not None and control_hash == production,
        "history": _history(con, exp["name"], night),
        "latency_hist": _latency_hist(con, exp["name"], start, clock, night),
        "examples": _examples(con, exp["name"], start, night,
                              [arm["variant"] for arm in exp["arms"]]),
        "allocation_history": _allocation_history(con, exp, night),
    }


def _allocation_history(con: duckdb.DuckDBPyConnection, exp: dict[str, Any], night: Night
                        ) -> list[dict[str, Any]]:
    """A bandit's stored weights per night up to the day after the night (none otherwise)."""
    if not exp.get("allocation"):
        return []
    rows = allocation_rows(con, [exp["name"]], night.run_date + timedelta(days=1))[exp["name"]]
    return [{"starts_on": r["starts_on"].isoformat(), "variant": r["variant"],
             "weight": r["weight"], "phase": r["phase"], "prob_best": r["prob_best"],
             "note": r["note"]} for r in rows]


def _eval_side(version: dict[str, Any]) -> dict[str, Any]:
    keys = ("ref", "short", "cases", "cases_scored", "cases_errored", "pass_rate",
            "pass_rate_ci", "mean_score", "mean_score_ci", "consistency", "api_errors",
            "scorer_errors", "cost_usd", "demo_model")
    return {k: version.get(k) for k in keys}


def _judge_agreement(con: duckdb.DuckDBPyConnection, judge_model: str | None,
                     rubrics: list[str], min_kappa: float | None) -> list[dict[str, Any]]:
    """The latest calibration of each rubric the eval's judge graded (none: not measured)."""
    out = []
    for rubric in rubrics if judge_model else []:
        rows = fetch_dicts(con, "reports/judge_calibration_of",
                           {"judge_model": judge_model, "rubric": rubric})
        if rows:
            threshold = rows[0]["min_kappa"] if min_kappa is None else min_kappa
            kappa = rows[0]["kappa"]
            out.append({"rubric": rubric, "kappa": kappa, "n": int(rows[0]["n"]),
                        "min_kappa": threshold,
                        "calibrated": kappa is not None and kappa >= threshold})
    return out


def eval_evidence(con: duckdb.DuckDBPyConnection, production: str, candidate: str,
                  judge_min_kappa: float | None = None) -> list[dict[str, Any]]:
    """The offline evals of the candidate against production, one per eval-set version, with
    the judge's agreement with people (``judge_min_kappa``: the setting; None: the threshold
    stored with each calibration)."""
    out = []
    for row in fetch_dicts(con, "reports/eval_runs_for_pair",
                           {"production": production, "candidate": candidate}):
        summary = json.loads(row["summary"])
        versions = {v["hash"]: v for v in summary.get("versions", [])}
        comparison = next((c for c in summary.get("comparisons", [])
                           if c.get("candidate_hash") == candidate
                           and c.get("baseline_hash") == production), None)
        if comparison is None or production not in versions or candidate not in versions:
            continue
        flips = []
        for kind in ("regressions", "improvements"):
            for item in comparison.get(kind, [])[:REGRESSIONS_SHOWN]:
                flips.append({"kind": kind[:-1], "case_id": item["case_id"],
                              "tags": list(item.get("tags") or []),
                              "baseline_score": item.get("baseline_score"),
                              "candidate_score": item.get("candidate_score"),
                              "baseline_output": cut(item.get("baseline_output"), OUTPUT_CHARS),
                              "candidate_output": cut(item.get("candidate_output"),
                                                      OUTPUT_CHARS)})
        out.append({
            "run_id": row["run_id"], "evalset": row["evalset_name"],
            "evalset_hash": row["evalset_hash"], "demo_model": bool(row["demo_model"]),
            "repeats": int(row["repeats"]), "judge_model": row["judge_model"],
            "errors": summary.get("errors", {}),
            "production": _eval_side(versions[production]),
            "candidate": _eval_side(versions[candidate]),
            "comparison": {k: comparison.get(k) for k in (
                "paired_cases", "unpaired_cases", "baseline_pass_rate", "candidate_pass_rate",
                "pass_rate_diff", "pass_rate_diff_ci", "mean_score_diff", "mean_score_diff_ci",
                "mcnemar", "by_tag")},
            "regressions_total": (comparison.get("mcnemar") or {}).get("regressions", 0),
            "improvements_total": (comparison.get("mcnemar") or {}).get("improvements", 0),
            "flips": flips,
            "judge": _judge_agreement(con, row["judge_model"], summary.get("rubrics") or [],
                                      judge_min_kappa),
            "previous_run_id": next((r["run_id"] for r in fetch_dicts(
                con, "reports/eval_previous_run", {"run_id": row["run_id"]})), None),
        })
    return out


def _promotion(con: duckdb.DuckDBPyConnection, name: str, production: str, night: Night,
               rules: DecisionRules) -> dict[str, Any] | None:
    """Production since its promotion, while it is watched (``rollback.watch_days``)."""
    rows = fetch_dicts(con, "reports/promotion_as_of", {"name": name, "as_of": night.as_of})
    if not rows or rows[0]["to_hash"] != production:
        return None
    move = rows[0]
    moved_at: datetime = move["moved_at"]
    days_since = (night.as_of - moved_at).total_seconds() / 86400
    if days_since > rules.rollback.watch_days:
        return None
    lookback = timedelta(days=rules.rollback.lookback_days)
    window = {"before_hash": move["from_hash"], "after_hash": production, "split": moved_at,
              "as_of": night.as_of, "lookback": lookback}
    return {
        "move_id": int(move["move_id"]), "from_hash": move["from_hash"],
        "from_short": short(move["from_hash"]), "to_hash": production,
        "moved_at": moved_at.astimezone(UTC).isoformat(timespec="seconds"),
        "moved_by": move["moved_by"], "reason": move["reason"], "days_since": days_since,
        "watch_days": rules.rollback.watch_days,
        "comparison": rollback.compare_windows(con, **window, alpha=rules.rollback.alpha,
                                               guardrails=rules.rollback.guardrails),
        "latency_hist": rollback.latency_histogram(con, **window, per_decade=PER_DECADE),
    }


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the store has this table (steps merged later add theirs)."""
    return bool(fetch_dicts(con, "reports/table_exists", {"name": name})[0]["present"])


def night_steps(con: duckdb.DuckDBPyConnection, night: Night) -> list[dict[str, Any]] | None:
    """How the night's latest nightly run went, step by step (None without a runs table)."""
    if not table_exists(con, "runs"):
        return None
    return fetch_dicts(con, "reports/night_steps", {"run_date": night.run_date})


def _alerts(con: duckdb.DuckDBPyConnection, prompt: str, night: Night, days: float
            ) -> list[dict[str, Any]] | None:
    """The monitoring alerts about the prompt in the last ``days`` nights; None when this
    store has no monitoring table."""
    if not table_exists(con, "monitor_alerts"):
        return None
    since = night.run_date - timedelta(days=int(days))
    rows = fetch_dicts(con, "reports/monitor_alerts",
                       {"prompt": prompt, "since": since, "run_date": night.run_date})
    return [{**r, "run_date": r["run_date"].isoformat()} for r in rows]


def _earlier_decisions(con: duckdb.DuckDBPyConnection, prompt: str, night: Night
                       ) -> list[dict[str, Any]]:
    rows = fetch_dicts(con, "reports/decisions_up_to", {"run_date": night.run_date})
    mine = [r for r in rows if r["prompt"] == prompt and r["run_date"] < night.run_date]
    return [{"run_date": r["run_date"].isoformat(), "decision": r["decision"], "rule": r["rule"],
             "summary": r["summary"]} for r in mine[:HISTORY_NIGHTS]]


def _version(con: duckdb.DuckDBPyConnection, hash_: str) -> dict[str, Any]:
    try:
        version = resolve(con, hash_)
    except UsageError:
        return {"hash": hash_, "short": short(hash_), "name": None, "description": None,
                "model": None, "registered": False}
    return {"hash": hash_, "short": short(hash_), "name": version.name,
            "description": version.metadata.get("description"),
            "model": version.content.get("model"), "registered": True}


def _diff(con: duckdb.DuckDBPyConnection, a: str, b: str) -> dict[str, Any]:
    try:
        found = diff_versions(con, a, b)
    except UsageError as exc:
        return {"diff": "", "changed_keys": [], "error": str(exc)}
    return {"diff": found["diff"], "changed_keys": found["changed_keys"], "error": None}


def prompts_to_report(labels: dict[str, dict[str, str]], experiments: list[dict[str, Any]],
                      watched: set[str]) -> list[str]:
    """Prompts with a candidate other than production, a running experiment, or a production
    version under watch after its promotion."""
    names = {n for n, ls in labels.items()
             if ls.get(CANDIDATE) and ls.get(CANDIDATE) != ls.get(PRODUCTION)}
    names |= {e["prompt"] for e in experiments if e["prompt"]}
    return sorted(names | watched)


def gather(con: duckdb.DuckDBPyConnection, night: Night, rules: DecisionRules,
           judge_min_kappa: float | None = None) -> list[dict[str, Any]]:
    """The evidence of every prompt the night reports on (not yet redacted)."""
    labels = labels_as_of(con, night)
    experiments = experiments_of_night(con, night, labels)
    promotions: dict[str, dict[str, Any]] = {}
    for name, ls in labels.items():
        if ls.get(PRODUCTION):
            found = _promotion(con, name, ls[PRODUCTION], night, rules.for_prompt(name))
            if found:
                promotions[name] = found
    out = []
    for name in prompts_to_report(labels, experiments, set(promotions)):
        prompt_rules = rules.for_prompt(name)
        production = labels.get(name, {}).get(PRODUCTION)
        mine = [_experiment_evidence(con, e, night, production)
                for e in experiments if e["prompt"] == name]
        candidates: dict[str, dict[str, Any]] = {}
        label_candidate = labels.get(name, {}).get(CANDIDATE)
        if label_candidate and label_candidate != production:
            candidates[label_candidate] = {"sources": [f"{name}@{CANDIDATE}"], "arms": []}
        for exp in mine:
            for variant in exp["arms"]:
                v = variant["variant"]
                arm = exp["arm_versions"].get(v, {})
                if v == exp["control"] or v not in _treatments(exp) or not arm.get("hash"):
                    continue
                if arm["hash"] == production:
                    continue
                entry = candidates.setdefault(arm["hash"], {"sources": [], "arms": []})
                entry["sources"].append(f"experiment {exp['name']}, arm {v}")
                entry["arms"].append({"experiment": exp["name"], "variant": v})
        versions = []
        for hash_, info in candidates.items():
            versions.append({
                **_version(con, hash_), **info, "ref": f"{name}:{short(hash_)}",
                "evals": eval_evidence(con, production, hash_, judge_min_kappa)
                if production else [],
                "lineage": lineage_of(con, hash_, night.as_of),
                "diff": _diff(con, production, hash_) if production else
                {"diff": "", "changed_keys": [], "error": "no production version"},
            })
        holdbacks = []
        promotion = promotions.get(name)
        if promotion:
            for exp in mine:
                treated = [v for v in _treatments(exp)
                           if exp["arm_versions"].get(v, {}).get("hash") == production]
                if treated and exp["control_hash"] == promotion["from_hash"]:
                    holdbacks.append({"experiment": exp["name"], "variants": treated})
        out.append({
            "prompt": name, "run_date": night.run_date.isoformat(),
            "production": _version(con, production) if production else None,
            "candidates": versions, "experiments": mine, "promotion": promotion,
            "holdbacks": holdbacks,
            "alerts": _alerts(con, name, night, prompt_rules.rollback.watch_days),
            "earlier": _earlier_decisions(con, name, night),
            "rules": prompt_rules.to_dict(),
        })
    return out


def _treatments(exp: dict[str, Any]) -> list[str]:
    """The experiment file's treatments (logged arms unknown to the file are not candidates)."""
    weights = [a["variant"] for a in exp["arms"] if a.get("weight") is not None]
    return [v for v in weights if v != exp["control"]]
