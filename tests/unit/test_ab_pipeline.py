"""The A/B pipeline on real DuckDB files: sample data with known effects, the SQL aggregation
against an independent pandas computation, integrity checks, as-of semantics, persistence."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from flywheel.flows.cli.common import app
from flywheel.tasks.ab import (
    aggregate,
    as_of_moment,
    build_report,
    load_experiments,
    run_nightly_analysis,
    text_summary,
)
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from flywheel.tasks.stats import assign_variant
from tests.conftest import REPO, feedback_record, request_record
from tests.support.serving_support import project

pytestmark = pytest.mark.unit

# Large enough that a +10% thumbs-up lift is detected and a 10% loss of one arm's users is an
# SRM at p < 0.001; small enough to generate and ingest in ~15 s.
SPEC = SampleSpec(users=8000, days=8)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("ab-sample")
    truth = write_sample_data(root, SPEC)
    settings = load_settings(db=root / "flywheel.duckdb", project_dir=root)
    ingest_paths(settings, [root / "landing"])
    return {"root": root, "truth": truth, "settings": settings}


def copy_of(sample: dict[str, Any], tmp_path: Path) -> Settings:
    """A private copy of the sample's database (for tests that change it)."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(sample["settings"].db_path, db)
    return load_settings(db=db, project_dir=sample["root"])


def experiment(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in report["experiments"] if e["name"] == name)


def row(exp: dict[str, Any], metric: str, variant: str) -> dict[str, Any]:
    return next(m for m in exp["metrics"] if m["metric"] == metric and m["variant"] == variant)


def report_json(settings: Settings, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["--db", str(settings.db_path), "--project-dir", str(settings.project_dir),
              "ab", "report", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------ known effects


def test_friendly_thumbs_up_lift_is_detected_with_a_ci_covering_the_truth(
    sample: dict[str, Any],
) -> None:
    truth = sample["truth"]["experiments"]["tone-test"]["friendly"]["thumbs_up_relative_lift"]
    report = report_json(sample["settings"])
    tone = experiment(report, "tone-test")
    assert tone["trustworthy"] and tone["checks"]["srm_p_value"] > 0.001
    assert tone["checks"]["assignment_mismatch_share"] == 0.0
    assert tone["checks"]["multi_arm_users"] == 0
    lift = row(tone, "thumbs_up_rate", "friendly")
    assert lift["estimate"] > 0 and lift["ci_low"] > 0
    assert lift["ci_low"] <= truth <= lift["ci_high"]
    assert lift["cuped"] and lift["sequential"]
    # the sample for MDE 5% is not reached, but the always-valid test may decide early
    assert not tone["sample"]["reached"] and lift["status"] == "significant"
    assert tone["status"] == "significant" and tone["winner"] == "friendly"
    assert lift["p_value_adjusted"] >= lift["p_value"]


def test_summary_length_detailed_is_worse_and_concise_shows_no_effect(
    sample: dict[str, Any],
) -> None:
    arms = sample["truth"]["experiments"]["summary-length"]
    exp = experiment(build_report(sample["settings"]), "summary-length")
    detailed, concise = (row(exp, "thumbs_up_rate", v) for v in ("detailed", "concise"))
    assert detailed["estimate"] < 0 and detailed["direction"] == "worse"
    assert detailed["ci_low"] <= arms["detailed"]["thumbs_up_relative_lift"] <= detailed["ci_high"]
    assert concise["ci_low"] <= 0 <= concise["ci_high"]
    assert exp["winner"] is None
    for metric in exp["metrics"]:  # every metric × treatment gets a raw and adjusted p-value
        assert metric["error"] is None
        assert metric["p_value"] <= metric["p_value_adjusted"] <= 1


def test_removing_a_tenth_of_one_arms_users_is_a_sample_ratio_mismatch(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    settings = copy_of(sample, tmp_path)
    with connect(settings.db_path) as con:
        users = sorted(r[0] for r in con.execute(
            "SELECT DISTINCT user_id FROM requests "
            "WHERE experiment = 'tone-test' AND variant = 'friendly'").fetchall())
        dropped = users[: len(users) // 10]
        con.execute("DELETE FROM requests WHERE experiment = 'tone-test' AND "
                    "list_contains($dropped, user_id)", {"dropped": dropped})
    report = report_json(settings, "--experiment", "tone-test")
    tone = report["experiments"][0]
    assert tone["checks"]["srm_p_value"] < 0.001 and "srm" in tone["checks"]["failed"]
    assert tone["trustworthy"] is False and tone["status"] == "untrustworthy"
    assert {m["status"] for m in tone["metrics"]} == {"untrustworthy"}
    assert tone["winner"] is None


# ------------------------------------------------------------------ SQL vs independent pandas


def test_sql_sufficient_statistics_match_a_pandas_computation(sample: dict[str, Any]) -> None:
    settings = sample["settings"]
    exps = load_experiments(settings.dir("experiments"))
    tone = next(e for e in exps if e.name == "tone-test")
    with connect(settings.db_path) as con:
        agg = aggregate(con, [tone], None, cuped_lookback=timedelta(days=14))
        requests = con.execute(
            "SELECT request_id, user_id, variant, latency_ms FROM requests "
            "WHERE experiment = 'tone-test' AND ts >= $start", {"start": tone.start}).df()
        feedback = con.execute("SELECT request_id, kind, value FROM feedback").df()
    thumbs = feedback[feedback.kind == "thumbs"].groupby("request_id")["value"]
    thumbs = thumbs.agg(["count", "sum"])
    joined = requests.join(thumbs, on="request_id").fillna({"count": 0, "sum": 0})
    per_user = joined.groupby(["variant", "user_id"])[["sum", "count"]].sum()
    arms = {a.variant: a for a in agg.experiments[0].arms.values()}
    for variant, users in per_user.groupby(level="variant"):
        m, d = users["sum"].to_numpy(), users["count"].to_numpy()
        sums = arms[variant].ratio["thumbs_up_rate"]
        assert sums["n"] == len(m)
        assert sums["m_sum"] == m.sum() and sums["d_sum"] == d.sum()
        assert sums["m_sum_squares"] == (m * m).sum() and sums["m_d"] == (m * d).sum()
        latencies = np.sort(requests[requests.variant == variant]["latency_ms"].dropna().to_numpy())
        q = arms[variant].quantile["latency_p95_ms"]
        assert q["n"] == len(latencies)
        # the ⌈nν⌉-th order statistic (the inverse of the empirical distribution function)
        assert q["quantile"] == latencies[int(np.ceil(0.95 * len(latencies))) - 1]


def test_sql_assignment_reproduces_assign_variant_for_every_user(sample: dict[str, Any]) -> None:
    settings = sample["settings"]
    exps = load_experiments(settings.dir("experiments"))
    with connect(settings.db_path) as con:
        aggregate(con, exps, None, cuped_lookback=timedelta(days=14))
        rows = con.execute("SELECT DISTINCT experiment, user_id, expected_variant "
                           "FROM ab_user_arm").fetchall()
    by_name = {e.name: e for e in exps}
    assert len(rows) > 5000
    for name, user, expected in rows:
        exp = by_name[name]
        assert assign_variant(name, user, exp.variant_names, list(exp.weights)) == expected


# ------------------------------------------------------------------ synthetic logs


EXPERIMENT = """\
name: weighted
variants: {control: "p@production", b: "p:abcdef12", c: "p:abcdef34"}
weights: {control: 0.2, b: 0.3, c: 0.5}
start: 2026-11-02
primary_metric: thumbs_up_rate
"""


def synthetic(tmp_path: Path, write_jsonl: Callable[..., Path], *, users: int = 600,
              corrupt: int = 0, multi: int = 0, extra: list[dict[str, Any]] | None = None,
              experiment_yaml: str = EXPERIMENT) -> Settings:
    """A project with one weighted experiment: each user logs 2 requests in the arm
    assign_variant gives (``corrupt`` users log a wrong arm; ``multi`` users log two arms)."""
    (tmp_path / "experiments").mkdir(parents=True, exist_ok=True)
    (tmp_path / "experiments" / "weighted.yaml").write_text(experiment_yaml)
    variants, weights = ["control", "b", "c"], [0.2, 0.3, 0.5]
    requests, feedback = [], []
    for i in range(users):
        user = f"u{i}"
        arm = assign_variant("weighted", user, variants, weights)
        if i < corrupt:
            arm = variants[(variants.index(arm) + 1) % 3]
        arms = [arm, variants[(variants.index(arm) + 1) % 3]] if corrupt <= i < corrupt + multi \
            else [arm, arm]
        for k, served in enumerate(arms):
            rid = f"{user}-{k}"
            requests.append(request_record(rid, user_id=user, experiment="weighted",
                                           variant=served, timestamp=f"2026-11-03T1{k}:00:00Z"))
            feedback.append(feedback_record(rid, request_id=f"req-{rid}", value=int(i % 3 == 0),
                                            timestamp=f"2026-11-03T1{k}:30:00Z"))
    write_jsonl(tmp_path / "landing/requests-1.jsonl", requests + (extra or []))
    write_jsonl(tmp_path / "landing/feedback-1.jsonl", feedback)
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    ingest_paths(settings, [tmp_path / "landing"])
    return settings


def test_weighted_assignment_passes_and_a_broken_splitter_fails(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    good = experiment(build_report(synthetic(tmp_path / "good", write_jsonl)), "weighted")
    assert good["checks"]["assignment_mismatch_share"] == 0 and good["trustworthy"]
    assert good["checks"]["srm_p_value"] > 0.001
    bad = experiment(build_report(synthetic(tmp_path / "bad", write_jsonl, corrupt=30)),
                     "weighted")
    assert bad["checks"]["assignment_mismatch_share"] == pytest.approx(30 / 600)
    assert "assignment_mismatch" in bad["checks"]["failed"]
    assert bad["status"] == "untrustworthy"


def test_users_in_several_arms_are_counted_and_left_out(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    exp = experiment(build_report(synthetic(tmp_path, write_jsonl, multi=12)), "weighted")
    assert exp["checks"]["multi_arm_users"] == 12
    assert sum(a["users"] for a in exp["arms"]) == 600 - 12
    assert "multi_arm_users" in exp["checks"]["failed"]  # 2% > the 1% threshold


def test_an_arm_without_traffic_fails_the_checks(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    yaml = EXPERIMENT.replace('c: "p:abcdef34"}', 'c: "p:abcdef34", d: "p:abcdef56"}').replace(
        "c: 0.5}", "c: 0.5, d: 0.0}")
    exp = experiment(build_report(synthetic(tmp_path, write_jsonl, experiment_yaml=yaml)),
                     "weighted")
    assert exp["checks"]["empty_arms"] == ["d"] and "empty_arms" in exp["checks"]["failed"]


def test_results_are_as_of_the_end_of_the_date(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    arm = assign_variant("weighted", "u0", ["control", "b", "c"], [0.2, 0.3, 0.5])
    late = [request_record("late", user_id="u0", experiment="weighted", variant=arm,
                           timestamp="2026-11-04T00:00:00Z")]
    settings = synthetic(tmp_path, write_jsonl, users=30, extra=late)
    write_jsonl(tmp_path / "landing/feedback-late.jsonl", [
        feedback_record("late-fb", request_id="req-u1-0", kind="thumbs", value=1,
                        timestamp="2026-11-04T00:00:01Z")])
    ingest_paths(settings, [tmp_path / "landing"])
    on_3rd = experiment(build_report(settings, date(2026, 11, 3)), "weighted")
    on_4th = experiment(build_report(settings, date(2026, 11, 4)), "weighted")
    requests = {d: sum(a["requests"] for a in e["arms"]) for d, e in (("3", on_3rd),
                                                                      ("4", on_4th))}
    assert requests == {"3": 60, "4": 61}
    before = build_report(settings, date(2026, 11, 2))
    assert experiment(before, "weighted")["status"] == "collecting"  # starts on the 2nd: no data
    assert experiment(before, "weighted")["trustworthy"]
    with connect(settings.db_path) as con:
        exps = load_experiments(settings.dir("experiments"))
        at3 = aggregate(con, exps, as_of_moment(date(2026, 11, 3)), cuped_lookback=timedelta(14))
        at4 = aggregate(con, exps, as_of_moment(date(2026, 11, 4)), cuped_lookback=timedelta(14))
    given = [sum(a.ratio["thumbs_up_rate"]["d_sum"] for a in agg.experiments[0].arms.values()
                 if a.ratio) for agg in (at3, at4)]
    assert given[1] == given[0] + 1  # the thumb given after midnight counts from the 4th on


def test_experiments_in_the_logs_without_a_file_are_reported(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    mystery = [request_record(f"m{i}", user_id=f"m{i % 7}", experiment="mystery",
                              variant="x" if i % 2 else "y") for i in range(20)]
    report = build_report(synthetic(tmp_path, write_jsonl, users=20, extra=mystery))
    (item,) = report["unfiled_experiments"]
    assert item["name"] == "mystery" and item["requests"] == 20
    assert {a["variant"]: a["requests"] for a in item["arms"]} == {"x": 10, "y": 10}


def test_cuped_falls_back_cleanly_without_pre_period_data(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    exp = experiment(build_report(synthetic(tmp_path, write_jsonl)), "weighted")
    thumbs = row(exp, "thumbs_up_rate", "b")
    assert thumbs["cuped"] is False and thumbs["estimate"] is not None


def test_cuped_is_used_when_users_have_pre_period_data(sample: dict[str, Any]) -> None:
    exp = experiment(build_report(sample["settings"]), "tone-test")
    assert row(exp, "thumbs_up_rate", "friendly")["cuped"] is True
    assert row(exp, "latency_p95_ms", "friendly")["cuped"] is False


# ------------------------------------------------------------------ persistence


def test_nightly_results_replace_their_date_in_one_transaction(
    sample: dict[str, Any], tmp_path: Path
) -> None:
    settings = copy_of(sample, tmp_path)
    first = run_nightly_analysis(settings, date(2026, 11, 6))
    again = run_nightly_analysis(settings, date(2026, 11, 6))
    run_nightly_analysis(settings, date(2026, 11, 7))
    rows_per_night = 9 * (1 + 2)  # metrics × treatments (tone-test 1, summary-length 2)
    assert first["stored"] == again["stored"] == {"results": rows_per_night, "checks": 2,
                                                  "unfiled": 0, "file_errors": 0}
    with connect(settings.db_path) as con:
        counts = dict(con.execute(
            "SELECT run_date::VARCHAR, count(*) FROM ab_results GROUP BY 1").fetchall())
        stored = con.execute(
            "SELECT estimate, ci_low, p_value_adjusted, status FROM ab_results WHERE run_date = "
            "'2026-11-06' AND experiment = 'tone-test' AND metric = 'thumbs_up_rate'").fetchone()
        checks = con.execute("SELECT count(*), bool_and(trustworthy) FROM ab_checks").fetchone()
    assert counts == {"2026-11-06": rows_per_night, "2026-11-07": rows_per_night}
    live = row(experiment(again, "tone-test"), "thumbs_up_rate", "friendly")
    assert stored == (live["estimate"], live["ci_low"], live["p_value_adjusted"], live["status"])
    assert checks == (4, True)


def test_the_json_report_has_the_contract_shape(sample: dict[str, Any]) -> None:
    report = report_json(sample["settings"], "--date", "2026-11-08")
    assert report["date"] == "2026-11-08"
    for exp in report["experiments"]:
        assert {"name", "status", "trustworthy", "checks", "arms", "metrics"} <= set(exp)
        assert exp["status"] in {"collecting", "significant", "not significant", "untrustworthy"}
        assert {"srm_p_value", "assignment_mismatch_share", "multi_arm_users"} <= set(exp["checks"])
        for arm in exp["arms"]:
            assert {"variant", "users", "requests"} <= set(arm)
        for metric in exp["metrics"]:
            assert {"metric", "variant", "control", "control_mean", "treatment_mean", "relative",
                    "estimate", "ci_low", "ci_high", "p_value", "p_value_adjusted",
                    "chance_to_win", "status"} <= set(metric)


# ------------------------------------------------------------------ versions that do not exist

GHOST = (REPO / "tests" / "fixtures" / "issue23" / "ghost.yaml").read_text("utf-8")


def test_an_experiment_naming_a_version_that_does_not_exist_is_untrustworthy(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    tone = (REPO / "experiments" / "tone-test.yaml").read_text("utf-8")
    # the example prompts registered
    settings = project(tmp_path, {"ghost": GHOST, "tone-test": tone})
    requests, feedback = [], []
    for name, variants in (("ghost", ["control", "typo", "stranger"]),
                           ("tone-test", ["control", "friendly"])):
        for i in range(300):  # traffic in every arm, split as assign_variant says: only the
            user = f"u{i}"    # missing versions can fail the checks
            rid = f"{name}-{user}"
            arm = assign_variant(name, user, variants)
            requests.append(request_record(rid, user_id=user, experiment=name, variant=arm,
                                           timestamp="2026-11-03T10:00:00Z"))
            feedback.append(feedback_record(rid, request_id=f"req-{rid}", value=i % 2,
                                            timestamp="2026-11-03T10:30:00Z"))
    write_jsonl(tmp_path / "landing/requests-1.jsonl", requests)
    write_jsonl(tmp_path / "landing/feedback-1.jsonl", feedback)
    ingest_paths(settings, [tmp_path / "landing"])
    report = build_report(settings)
    ghost, good = experiment(report, "ghost"), experiment(report, "tone-test")
    assert ghost["trustworthy"] is False and ghost["status"] == "untrustworthy"
    assert ghost["checks"]["failed"] == ["missing_versions"]
    missing = {m["variant"]: m for m in ghost["checks"]["missing_versions"]}
    assert sorted(missing) == ["stranger", "typo"]
    assert missing["typo"]["ref"] == "support:deadbeef00"
    assert missing["stranger"]["ref"] == "nosuchprompt@production"
    assert "nosuchprompt" in missing["stranger"]["error"]
    assert good["trustworthy"] and good["checks"]["missing_versions"] == []
    assert good["checks"]["versions_checked"] is True
    human = text_summary(report)  # the terminal form names the missing versions too
    assert "typo names no registered version (support:deadbeef00)" in human
    assert "stranger names no registered version (nosuchprompt@production)" in human


def test_an_experiment_naming_no_version_is_untrustworthy_before_any_traffic(
    tmp_path: Path,
) -> None:
    ghost = experiment(build_report(project(tmp_path, {"ghost": GHOST})), "ghost")
    assert ghost["status"] == "untrustworthy" and not ghost["trustworthy"]
    assert {m["variant"] for m in ghost["checks"]["missing_versions"]} == {"typo", "stranger"}


def test_without_a_registry_the_versions_are_not_checked(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    exp = experiment(build_report(synthetic(tmp_path, write_jsonl)), "weighted")
    assert exp["checks"]["versions_checked"] is False and exp["trustworthy"]
