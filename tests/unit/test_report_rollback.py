"""ROLLBACK: a promoted version that then regresses (sample logs served by each version, the
promotion recorded in the label history), the before/after statistics against an independent
pandas computation, and no rollback when nothing regressed."""

from __future__ import annotations

import json
import shlex
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from flywheel.tasks.ab import Guardrail
from flywheel.tasks.db import connect
from flywheel.tasks.reports import build_night, compare_windows
from tests.support.report_support import PROMOTED_AT, START, rollback_project

pytestmark = pytest.mark.unit

LAST_NIGHT = (START + timedelta(days=13)).date()


def support(result: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in result["prompts"] if p["prompt"] == "support")


@pytest.fixture(scope="module")
def regressed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings, v1, v2 = rollback_project(tmp_path_factory.mktemp("regressed"))
    return {"settings": settings, "v1": v1, "v2": v2,
            "last": build_night(settings, LAST_NIGHT)}


def test_a_promoted_version_whose_thumbs_up_rate_drops_gets_rollback(
        regressed: dict[str, Any]) -> None:
    report = support(regressed["last"])
    assert (report["decision"], report["rule"]) == ("ROLLBACK", "rollback.post_promotion_metric")
    assert report["subject"]["hash"] == regressed["v2"].hash
    words = shlex.split(report["command"])
    assert words[:4] == ["flywheel", "prompts", "rollback", "support"] and "--db" not in words
    undo = shlex.split(report["undo"])
    assert undo[:5] == ["flywheel", "prompts", "promote", "support",
                        f"support:{regressed['v2'].short}"]
    html = Path(report["html"]).read_text()
    assert 'data-decision="ROLLBACK"' in html and regressed["v1"].short in html
    markdown = Path(report["md"]).read_text()
    assert "## ↩ ROLLBACK" in markdown and "prompts rollback support" in markdown
    assert "\n| rollback.post\\_promotion\\_metric | ● fired | " in markdown  # a table row


def test_nights_before_the_promotion_have_nothing_to_report(regressed: dict[str, Any]) -> None:
    before = build_night(regressed["settings"], PROMOTED_AT.date() - timedelta(days=1))
    assert before["prompts"] == []
    index = Path(before["index"]).read_text()
    assert "No prompt had a candidate" in index


def test_the_before_after_statistics_match_an_independent_computation(
        regressed: dict[str, Any]) -> None:
    settings, v1, v2 = regressed["settings"], regressed["v1"], regressed["v2"]
    as_of = START + timedelta(days=14)
    with connect(settings.db_path) as con:
        comparison = compare_windows(
            con, before_hash=v1.hash, after_hash=v2.hash, split=PROMOTED_AT, as_of=as_of,
            lookback=timedelta(days=14), alpha=0.05,
            guardrails=(Guardrail("latency_p95_ms", "increase", 0.10),))
    requests = pd.concat([pd.read_json(p, lines=True) for p in
                          sorted(settings.landing.glob("requests-*.jsonl"))])
    feedback = pd.concat([pd.read_json(p, lines=True) for p in
                          sorted(settings.landing.glob("feedback-*.jsonl"))])
    feedback = feedback[pd.to_datetime(feedback["timestamp"], utc=True) < as_of]  # known then
    requests["window"] = np.where(requests["prompt_hash"] == v1.hash, "before", "after")
    joined = requests.merge(feedback[["request_id", "value"]], on="request_id", how="left")
    per_user = joined.groupby(["window", "user_id"]).agg(up=("value", "sum"),
                                                         n=("value", "count"))
    rows = {m["metric"]: m for m in comparison["metrics"]}
    for window, key in (("before", "before_mean"), ("after", "after_mean")):
        users = per_user.loc[window]
        assert comparison["windows"][window]["users"] == len(users)
        assert rows["thumbs_up_rate"][key] == pytest.approx(users.up.sum() / users.n.sum())
    # the delta-method variance of the ratio of means, per window, by hand
    def ratio_var(users: pd.DataFrame) -> float:
        m, d = users.up.to_numpy(float), users.n.to_numpy(float)
        mm, dm, n = m.mean(), d.mean(), len(m)
        cov = np.cov(m, d, ddof=1)
        return (cov[0, 0] / dm**2 + cov[1, 1] * mm**2 / dm**4 - 2 * cov[0, 1] * mm / dm**3) / n
    b, a = per_user.loc["before"], per_user.loc["after"]
    mb, ma = b.up.sum() / b.n.sum(), a.up.sum() / a.n.sum()
    rel = (ma - mb) / mb
    se = np.sqrt(ratio_var(a) / mb**2 + ratio_var(b) * ma**2 / mb**4)
    assert rows["thumbs_up_rate"]["estimate"] == pytest.approx(rel)
    half = rows["thumbs_up_rate"]["ci_high"] - rel
    assert half == pytest.approx(1.96 * se, rel=0.01)  # Student t with large df ≈ normal
    latency = requests.dropna(subset=["latency_ms"])
    for window in ("before", "after"):
        expected = np.quantile(latency.loc[latency.window == window, "latency_ms"], 0.95,
                               method="inverted_cdf")
        assert comparison["p95_ms"][window] == pytest.approx(expected)
    assert rows["latency_p95_ms"]["estimate"] == pytest.approx(
        comparison["p95_ms"]["after"] / comparison["p95_ms"]["before"] - 1)


def test_a_promotion_that_did_not_regress_is_watched_not_rolled_back(
        tmp_path: Path) -> None:
    settings, _, _ = rollback_project(tmp_path, after_p_up=0.62, after_latency=800.0,
                                       users=600, seed=5)
    report = support(build_night(settings, LAST_NIGHT))
    assert (report["decision"], report["rule"]) == ("HOLD", "hold.watching")
    assert report["command"] is None
    assert report["days_more"] == pytest.approx(14 - 6.5)  # the rest of the watch


def test_a_latency_guardrail_broken_after_the_promotion_gets_rollback(tmp_path: Path) -> None:
    settings, _, _ = rollback_project(tmp_path, after_p_up=0.62, after_latency=1200.0,
                                      users=600, seed=6)
    report = support(build_night(settings, LAST_NIGHT))
    assert (report["decision"], report["rule"]) == ("ROLLBACK",
                                                    "rollback.post_promotion_guardrail")
    details = json.dumps(report["key_numbers"])
    assert "latency_p95_ms after vs before the promotion" in details
    assert date.fromisoformat(build_night(settings, LAST_NIGHT)["run_date"]) == LAST_NIGHT


def test_the_index_shows_how_the_nights_latest_run_went(tmp_path: Path) -> None:
    settings, _, _ = rollback_project(tmp_path, users=150, seed=7)
    with connect(settings.db_path) as con:  # the nightly flow's runs table (migration 008)
        con.execute("""CREATE TABLE IF NOT EXISTS runs (
            run_id VARCHAR NOT NULL, run_date DATE NOT NULL, step VARCHAR NOT NULL,
            status VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
            seconds DOUBLE, details JSON, error VARCHAR, PRIMARY KEY (run_id, step))""")
        rows = [("old", "nightly", "failed", 0, None), ("old", "ab-analysis", "failed", 1,
                                                         "boom <script>x</script>"),
                ("new", "nightly", "running", 10, None), ("new", "ingest", "ok", 11, None),
                ("new", "ab-analysis", "failed", 12, "ValueError: <b>bad</b>"),
                ("new", "report", "running", 13, None)]
        for run_id, step, status, minute, error in rows:
            con.execute("INSERT INTO runs VALUES ($r, $d, $s, $st, $t, NULL, NULL, NULL, $e)",
                        {"r": run_id, "d": LAST_NIGHT, "s": step, "st": status, "e": error,
                         "t": START + timedelta(days=20, minutes=minute)})
    index = Path(build_night(settings, LAST_NIGHT)["index"]).read_text()
    steps = index[index.index("The night's steps"):index.index("Earlier nights")]
    assert steps.count("<tr>") == 3  # header, ingest, ab-analysis of the newest run
    assert "ingest" in steps and "✖ failed" in steps and "ValueError: &lt;b&gt;bad" in steps
    assert "boom" not in steps and "report" not in steps


def test_a_night_made_again_keeps_only_its_own_report_files(regressed: dict[str, Any]) -> None:
    folder = Path(support(regressed["last"])["html"]).parent
    (folder / "gone.html").write_text("an earlier run's report")
    (folder / "gone.exp0-forest.svg").write_text("<svg/>")
    (folder / "notes.txt").write_text("not ours")
    before = sorted(p.name for p in folder.iterdir() if p.name not in
                    ("gone.html", "gone.exp0-forest.svg"))
    build_night(regressed["settings"], LAST_NIGHT)
    assert sorted(p.name for p in folder.iterdir()) == before
