"""Bandit experiments end to end on a real store: the ``allocation:`` key, the nightly
``allocate`` step, the weights per period in serving.json, the sticky router, and the honest
(period-stratified) analysis with SRM against each period's weights.

The application is simulated with the real Router and RequestLogger (tests/support/
serving_support.py): every day brings new users, who are routed by the weights of the period
in effect; the nights run ingest, the A/B analysis, the allocation and a new snapshot.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.ab import build_report, load_experiment, run_nightly_analysis
from flywheel.tasks.db import connect
from flywheel.tasks.errors import UsageError
from flywheel.tasks.serving import MemoryStickyStore, SqliteStickyStore
from flywheel.tasks.serving._client import Router
from flywheel.tasks.serving._snapshot_format import encode
from tests.support.serving_support import (
    FIRST_DAY,
    SUMMARIZER_V1,
    SUMMARIZER_V2,
    Outcome,
    Simulation,
    project,
)

BANDIT = f"""name: sum-bandit
variants:
  control: summarizer@production
  concise: "summarizer:{SUMMARIZER_V2[:12]}"
start: {FIRST_DAY.isoformat()}
primary_metric: thumbs_up_rate
guardrails:
  - {{metric: error_rate, worse_if: increase, max_relative_change: 0.5}}
allocation:
  method: thompson
  burn_in_days: 2
  min_share: 0.1
  stop_when: {{prob_best: 0.999, expected_loss: 0.0001}}
"""


@pytest.fixture(scope="module")
def bandit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bandit")
    settings = project(root, {"sum-bandit": BANDIT})
    sim = Simulation(settings, users=500, subjects=("sum-bandit",), fresh_users=True,
                     outcomes={SUMMARIZER_V1: Outcome(p_up=0.45, error_rate=0.01),
                               SUMMARIZER_V2: Outcome(p_up=0.70, error_rate=0.01)})
    shares = []
    for _ in range(5):
        sim.run_day()
        served = sim.served[-1]
        shares.append(sum(c.variant == "concise" for c in served.values()) / len(served))
        sim.night()
    sim.close()
    report = build_report(settings, sim.nights[-1]["date"])
    with connect(settings.db_path) as con:
        rows = con.execute("SELECT starts_on, variant, weight, phase FROM ab_allocations "
                           "ORDER BY starts_on, variant").fetchall()
    return {"settings": settings, "sim": sim, "shares": shares, "rows": rows,
            "report": next(e for e in report["experiments"] if e["name"] == "sum-bandit")}


def test_weights_stay_declared_during_the_burn_in_then_move_to_the_better_arm(
    bandit: dict[str, Any],
) -> None:
    by_day: dict[Any, dict[str, tuple[float, str]]] = {}
    for starts_on, variant, weight, phase in bandit["rows"]:
        by_day.setdefault(starts_on, {})[variant] = (weight, phase)
    days = sorted(by_day)
    assert [d.isoformat() for d in days] == ["2026-11-02", "2026-11-03", "2026-11-04",
                                               "2026-11-05", "2026-11-06"]
    assert by_day[days[0]]["concise"] == (0.5, "burn-in")  # period 1 < burn_in_days 2
    later = [by_day[d]["concise"] for d in days[1:]]
    assert all(phase in ("adaptive", "done") for _, phase in later)
    assert all(weight >= 0.85 for weight, _ in later)  # 0.70 vs 0.45: concise is best
    assert all(by_day[d]["control"][0] >= 0.1 - 1e-12 for d in days)  # the floor


def test_the_router_serves_each_day_by_the_weights_of_its_period(bandit: dict[str, Any]
                                                                 ) -> None:
    shares = bandit["shares"]
    assert shares[0] == pytest.approx(0.5, abs=0.08)
    assert shares[1] == pytest.approx(0.5, abs=0.08)  # still the burn-in
    assert min(shares[2:]) >= 0.8


def test_serving_json_carries_the_weights_with_their_periods(bandit: dict[str, Any]) -> None:
    doc = json.loads(bandit["settings"].serving_file.read_text())
    entry = doc["experiments"]["sum-bandit"]
    allocation = entry["allocation"]
    assert allocation["method"] == "thompson" and allocation["sticky"] is True
    periods = allocation["periods"]
    assert periods[0]["from"] == "2026-11-01T00:00:00+00:00" and periods[0]["weights"] == [0.5,
                                                                                          0.5]
    assert entry["weights"] == periods[-1]["weights"]  # what an old router serves
    # equal weights on consecutive nights are one period: after the burn-in they changed,
    # then froze when the stop rule held (0.70 against 0.45 is clear within days)
    assert [p["phase"] for p in periods][:1] == ["burn-in"]
    assert periods[-1]["phase"] == "done" and periods[-1]["weights"][1] >= 0.85


def test_the_stop_rule_freezes_the_weights_and_says_why(bandit: dict[str, Any]) -> None:
    with connect(bandit["settings"].db_path) as con:
        rows = con.execute("SELECT starts_on, weight, phase, note FROM ab_allocations "
                           "WHERE variant = 'concise' ORDER BY starts_on").fetchall()
    done = [r for r in rows if r[2] == "done"]
    assert done and done[0][3].startswith("stop rule met: concise best with probability")
    assert {r[1] for r in done} == {done[0][1]}  # frozen from then on
    assert all(r[3] == "stop rule met earlier: weights frozen" for r in done[1:])


def test_the_analysis_is_stratified_and_trustworthy_under_changing_weights(
    bandit: dict[str, Any],
) -> None:
    exp = bandit["report"]
    assert exp["trustworthy"], exp["checks"]["failed"]
    assert exp["checks"]["assignment_mismatch_share"] == 0.0
    assert len(exp["checks"]["srm_by_period"]) == len(exp["allocation"]["periods"]) >= 2
    assert exp["checks"]["srm_p_value"] > 0.001
    row = next(m for m in exp["metrics"]
               if m["metric"] == "thumbs_up_rate" and m["variant"] == "concise")
    assert row["stratified"] and row["estimate"] > 0 and row["ci_low"] > 0
    assert row["ci_low"] <= 0.70 / 0.45 - 1 <= row["ci_high"]
    arms = {a["variant"]: a for a in exp["allocation"]["arms"]}
    assert arms["concise"]["users"] > 2.5 * arms["control"]["users"]  # 2 days 50/50, 3 at 90/10
    regret = exp["allocation"]["regret"]
    assert regret["saved"] > 0 and regret["bandit"] < regret["fixed_split"]


def test_srm_is_judged_against_each_periods_weights(bandit: dict[str, Any], tmp_path: Path
                                                    ) -> None:
    """Pretend the store says the last days ran 50/50: the users (routed 90/10) no longer
    match their periods' weights, and the per-period SRM and the mismatch check say so."""
    settings = bandit["settings"]
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(settings.db_path.read_bytes())
    from dataclasses import replace

    tampered = replace(settings, db_path=copy)
    with connect(copy) as con:
        con.execute("UPDATE ab_allocations SET weight = 0.5")
    report = run_nightly_analysis(tampered, bandit["sim"].nights[-1]["date"])
    exp = next(e for e in report["experiments"] if e["name"] == "sum-bandit")
    assert "srm" in exp["checks"]["failed"] and exp["checks"]["srm_p_value"] < 1e-6
    assert exp["checks"]["assignment_mismatch_share"] > 0.1
    assert not exp["trustworthy"]


def _snapshot(path: Path, periods: list[dict[str, Any]], generation: int) -> None:
    content = {"model": "m", "template": "t"}
    doc = {"schema": "flywheel.serving", "schema_version": 1, "generation": generation,
           "generated_at": "2026-11-01T00:00:00+00:00", "reason": "test", "prompts": {},
           "versions": {"a" * 64: {"name": "p", "content": content},
                        "b" * 64: {"name": "p", "content": {**content, "template": "u"}}},
           "experiments": {"bx": {
               "variants": [{"name": "control", "hash": "a" * 64, "prompt": "p", "ref": "p@x"},
                            {"name": "t", "hash": "b" * 64, "prompt": "p", "ref": "p:bbbbbb"}],
               "weights": periods[-1]["weights"], "start": "2026-11-01T00:00:00+00:00",
               "end": None, "rollout": None,
               "allocation": {"method": "thompson", "sticky": True, "periods": periods}}}}
    path.write_bytes(encode(doc))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_users_keep_their_first_arm_when_the_weights_change(tmp_path: Path, store: str) -> None:
    path = tmp_path / "serving.json"
    first = {"period": 0, "from": "2026-11-01T00:00:00+00:00", "weights": [0.5, 0.5]}
    _snapshot(path, [first], 1)
    noon = datetime(2026, 11, 2, 12, tzinfo=UTC).timestamp()
    sticky = MemoryStickyStore() if store == "memory" else SqliteStickyStore(tmp_path / "s.db")
    router = Router.load(path, clock=lambda: noon, sticky=sticky, check_interval_s=0)
    old_users = [f"u{i}" for i in range(400)]
    before = {u: router.choose("bx", u).variant for u in old_users}
    assert 0.4 < sum(v == "t" for v in before.values()) / 400 < 0.6
    _snapshot(path, [first, {"period": 1, "from": "2026-11-02T00:00:00+00:00",
                             "weights": [0.05, 0.95]}], 2)
    assert router.reload()
    assert {u: router.choose("bx", u).variant for u in old_users} == before
    new = [router.choose("bx", f"n{i}").variant for i in range(400)]
    assert sum(v == "t" for v in new) / 400 > 0.9
    if store == "sqlite":  # another process (a new router) sees the same assignments
        other = Router.load(path, clock=lambda: noon, sticky=SqliteStickyStore(tmp_path / "s.db"))
        assert {u: other.choose("bx", u).variant for u in old_users} == before


def test_a_period_not_yet_started_is_not_served(tmp_path: Path) -> None:
    path = tmp_path / "serving.json"
    _snapshot(path, [{"period": 0, "from": "2026-11-01T00:00:00+00:00", "weights": [1.0, 0.0]},
                     {"period": 1, "from": "2026-11-09T00:00:00+00:00", "weights": [0.0, 1.0]}],
              1)
    noon = datetime(2026, 11, 2, 12, tzinfo=UTC).timestamp()
    router = Router.load(path, clock=lambda: noon)
    assert {router.choose("bx", f"u{i}").variant for i in range(50)} == {"control"}


@pytest.mark.parametrize(
    ("change", "message"),
    [("method: greedy", "allocation.method"),
     ("method: thompson\n  min_share: 0.5", "allocation.min_share"),
     ("method: thompson\n  burn_in_days: 0", "allocation.burn_in_days"),
     ("method: thompson\n  stop_when: {prob_best: 1.5}", "allocation.stop_when.prob_best"),
     ("method: thompson\n  explore: 3", "unknown key")],
)
def test_a_bad_allocation_block_is_an_error_naming_the_key(tmp_path: Path, change: str,
                                                           message: str) -> None:
    text = BANDIT.split("allocation:")[0] + "allocation:\n  " + change + "\n"
    path = tmp_path / "sum-bandit.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_experiment(path)


def test_a_bandit_needs_a_ratio_primary_metric_and_no_sequential_test(tmp_path: Path) -> None:
    path = tmp_path / "sum-bandit.yaml"
    path.write_text(BANDIT.replace("primary_metric: thumbs_up_rate",
                                   "primary_metric: latency_p95_ms"))
    with pytest.raises(UsageError, match="ratio metric"):
        load_experiment(path)
    path.write_text(BANDIT + "sequential: {enabled: true}\n")
    with pytest.raises(UsageError, match="sequential"):
        load_experiment(path)
    path.write_text(BANDIT)
    plan = load_experiment(path).allocation
    assert plan is not None and (plan.method, plan.burn_in_days, plan.min_share) == (
        "thompson", 2, 0.1)
