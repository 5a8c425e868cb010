"""Monitoring over a real DuckDB store: the SQL metrics against pandas/numpy/scipy computed from
the same records, the alerts, idempotency, and the planted anomalies of the sample data."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from flywheel.tasks.config import FEEDBACK_EARLY_LIMIT, Settings, load_settings
from flywheel.tasks.db import connect, fetch_dicts, run
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.monitor import alerts_for_date, metrics_between, metrics_for_date, run_monitoring
from flywheel.tasks.registry._hashing import prompt_hash
from flywheel.tasks.registry._store import register_version
from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from tests.conftest import feedback_record, request_record

pytestmark = pytest.mark.unit

SPEC = {"name": "helper", "model": "gpt-4o-mini", "template": "Answer: {{ q }}"}
HASH = prompt_hash(SPEC)
ROGUE = "f" * 64  # logged, never registered
START = date(2026, 11, 1)
NIGHTS = 5  # four baseline nights, then the night with the anomalies


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _records(rng: np.random.Generator) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Five nights of one prompt version; the last one slower, with longer inputs, plus a rogue
    hash on a new model. Feedback comes 45 minutes after its request: after 23:15 it falls on the
    next day and does not count for the request's night."""
    requests, feedback = [], []
    for night in range(NIGHTS):
        midnight = datetime.combine(START + timedelta(days=night), time.min, UTC)
        last = night == NIGHTS - 1
        for i in range(300):
            rid, ts = f"{night}-{i}", midnight + timedelta(seconds=i * 288)
            error = "upstream timeout" if rng.random() < 0.05 else None
            latency = float(rng.lognormal(math.log(800), 0.3)) * (2.0 if last else 1.0)
            requests.append(request_record(
                rid, timestamp=_iso(ts), user_id=f"u{i % 40}", prompt_name="helper",
                prompt_hash=HASH if i % 3 else HASH[:12], model="gpt-4o-mini",
                latency_ms=round(latency, 1), error=error, output=None if error else "ok",
                prompt_tokens=int(rng.integers(50, 150)) + (400 if last else 0),
                completion_tokens=0 if error else int(rng.integers(5, 40)),
                cost_usd=round(float(rng.uniform(1e-5, 3e-5)), 8),
            ))
            later = _iso(ts + timedelta(minutes=45))
            if i % 4 == 0:
                feedback.append(feedback_record(f"t{rid}", request_id=f"req-{rid}", kind="thumbs",
                                                value=int(rng.random() < 0.6), timestamp=later))
            if i % 10 == 0:
                feedback.append(feedback_record(f"r{rid}", request_id=f"req-{rid}", kind="rating",
                                                value=int(rng.integers(1, 6)), timestamp=later))
            if i % 25 == 0:
                feedback.append(feedback_record(f"c{rid}", request_id=f"req-{rid}", kind="correction",
                                                corrected_output="better", value=..., timestamp=later))
        if last:  # a rogue prompt version on a model nobody used before
            for i in range(40):
                requests.append(request_record(
                    f"rogue-{i}", timestamp=_iso(midnight + timedelta(hours=10, minutes=i)),
                    prompt_name="helper", prompt_hash=ROGUE, model="gpt-9-preview"))
    return requests, feedback


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pd.DataFrame, pd.DataFrame]:
    root = tmp_path_factory.mktemp("monitor")
    requests, feedback = _records(np.random.default_rng(5))
    landing = root / "landing"
    landing.mkdir()
    (landing / "requests-all.jsonl").write_text("\n".join(json.dumps(r) for r in requests) + "\n")
    (landing / "feedback-all.jsonl").write_text("\n".join(json.dumps(f) for f in feedback) + "\n")
    settings = load_settings(db=root / "f.duckdb", project_dir=root)
    assert ingest_paths(settings, [landing]).rejected == 0
    with connect(settings.db_path) as con:
        register_version(con, SPEC)
    for night in range(NIGHTS):
        run_monitoring(settings, START + timedelta(days=night))
    req = pd.DataFrame(requests)
    req["ts"] = pd.to_datetime(req["timestamp"], utc=True)
    req["night"] = req["ts"].dt.date
    fb = pd.DataFrame(feedback)
    fb["ts"] = pd.to_datetime(fb["timestamp"], utc=True)
    return settings, req, fb


def _reference_metrics(req: pd.DataFrame, fb: pd.DataFrame, night: date) -> dict[str, float]:
    rows = req[(req["night"] == night) & (req["prompt_hash"].str[:12] == HASH[:12])]
    ok = rows[rows["error"].isna()]
    feedback = fb.merge(rows[["request_id", "ts"]].rename(columns={"ts": "req_ts"}), on="request_id")
    night_end = pd.Timestamp(night + timedelta(days=1), tz="UTC")
    feedback = feedback[feedback["ts"] < night_end]
    thumbs = feedback[feedback["kind"] == "thumbs"]
    ratings = feedback[feedback["kind"] == "rating"]
    corrected = feedback[feedback["kind"] == "correction"]["request_id"].nunique()
    return {
        "requests": len(rows), "errors": int(rows["error"].notna().sum()),
        "error_rate": rows["error"].notna().mean(),
        "latency_p50_ms": float(np.quantile(ok["latency_ms"], 0.50)),
        "latency_p95_ms": float(np.quantile(ok["latency_ms"], 0.95)),
        "latency_p99_ms": float(np.quantile(ok["latency_ms"], 0.99)),
        "tokens_per_request": float((rows["prompt_tokens"] + rows["completion_tokens"]).mean()),
        "cost_per_request": float(rows["cost_usd"].mean()),
        "thumbs_given": len(thumbs), "thumbs_up_rate": float(thumbs["value"].astype(float).mean()),
        "ratings": len(ratings), "mean_rating": float(ratings["value"].astype(float).mean()),
        "correction_rate": corrected / len(rows),
        "input_tokens_mean": float(rows["prompt_tokens"].mean()),
        "output_tokens_mean": float(ok["completion_tokens"].mean()),
    }


def test_nightly_metrics_equal_pandas_on_the_same_records(store: tuple[Settings, pd.DataFrame, pd.DataFrame]) -> None:
    settings, req, fb = store
    for night in (START, START + timedelta(days=NIGHTS - 1)):
        rows = [r for r in metrics_for_date(str(settings.db_path), night) if r["prompt_hash"] == HASH]
        assert len(rows) == 1, "the full hash and its 12-character prefix are one version"
        got, expected = rows[0], _reference_metrics(req, fb, night)
        assert got["hash_known"] is True and got["model"] == "gpt-4o-mini"
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, rel=1e-9), key


def test_a_doubled_latency_raises_a_drift_alert_at_the_reference_control_limits(
    store: tuple[Settings, pd.DataFrame, pd.DataFrame],
) -> None:
    settings, req, _ = store
    last = START + timedelta(days=NIGHTS - 1)
    alerts = [a for a in alerts_for_date(str(settings.db_path), last) if a["metric"] == "latency_p50_ms"]
    assert len(alerts) == 1 and alerts[0]["kind"] == "drift" and alerts[0]["prompt_hash"] == HASH
    ok = req[req["error"].isna() & (req["prompt_hash"].str[:12] == HASH[:12])]
    nightly = [float(np.quantile(ok[ok["night"] == START + timedelta(days=d)]["latency_ms"], 0.5))
               for d in range(NIGHTS - 1)]
    k, mean, sd = len(nightly), float(np.mean(nightly)), float(np.std(nightly, ddof=1))
    half = max(stats.t.isf(0.00135, k - 1) * sd * math.sqrt(1 + 1 / k), 0.10 * mean)
    assert alerts[0]["baseline"] == pytest.approx(mean)
    assert (alerts[0]["limit_low"], alerts[0]["limit_high"]) == pytest.approx((mean - half, mean + half))
    assert "latency_p50_ms" in alerts[0]["message"] and "above" in alerts[0]["message"]
    earlier = [a for d in range(NIGHTS - 1) for a in alerts_for_date(str(settings.db_path), START + timedelta(days=d))]
    assert not [a for a in earlier if a["kind"] in ("drift", "psi")]


def test_input_length_psi_equals_numpy_and_scipy_on_the_same_bins(
    store: tuple[Settings, pd.DataFrame, pd.DataFrame],
) -> None:
    settings, req, _ = store
    last = START + timedelta(days=NIGHTS - 1)
    alert = [a for a in alerts_for_date(str(settings.db_path), last) if a["metric"] == "input_tokens_psi"]
    assert len(alert) == 1 and alert[0]["severity"] == "critical"
    mine = req[req["prompt_hash"].str[:12] == HASH[:12]]
    base = mine[mine["night"] < last]["prompt_tokens"].to_numpy(float)
    tonight = mine[mine["night"] == last]["prompt_tokens"].to_numpy(float)
    edges = np.unique(np.quantile(base, np.arange(1, 10) / 10, method="inverted_cdf"))
    bins = len(edges) + 1
    count = lambda x: np.bincount((x[:, None] > edges[None, :]).sum(axis=1), minlength=bins)  # noqa: E731
    a, e = count(tonight), count(base)
    keep = (a + e) > 0
    share_a, share_e = np.maximum(a / a.sum(), 1e-4), np.maximum(e / e.sum(), 1e-4)
    psi = float(np.sum(((share_a - share_e) * np.log(share_a / share_e))[keep]))
    assert alert[0]["value"] == pytest.approx(psi, rel=1e-9)
    chi2, _, dof, _ = stats.chi2_contingency(np.vstack([a[keep], e[keep]]), correction=False)
    night_start = datetime.combine(last, time.min, UTC)
    baseline = [last - timedelta(days=d) for d in range(7, 0, -1)]
    # from the requests of every night, and with the baseline nights read back from what their
    # own monitoring stored: the same statistic
    for stored, raw_start in (([], night_start - timedelta(days=7)), (baseline, night_start)):
        with connect(settings.db_path) as con:
            run(con, "monitor/window", {"raw_start": raw_start, "stored": stored,
                                         "night_end": night_start + timedelta(days=1),
                                         "feedback_early": FEEDBACK_EARLY_LIMIT})
            run(con, "monitor/window_tokens", {"stored": stored})
            rows = fetch_dicts(con, "monitor/psi", {"run_date": last, "eps": 1e-4, "min_count": 100})
        row = next(r for r in rows if r["prompt_hash"] == HASH and r["measure"] == "input_tokens")
        assert (row["bins"] - 1, row["tonight_n"], row["baseline_n"]) == (dof, len(tonight), len(base))
        assert row["chi2"] == pytest.approx(chi2, rel=1e-9)


def test_an_unregistered_hash_and_a_new_model_are_alerts(store: tuple[Settings, pd.DataFrame, pd.DataFrame]) -> None:
    settings, _, _ = store
    last = START + timedelta(days=NIGHTS - 1)
    alerts = alerts_for_date(str(settings.db_path), last)
    unknown = [a for a in alerts if a["kind"] == "unknown_prompt_hash"]
    assert [(a["prompt_hash"], a["value"]) for a in unknown] == [(ROGUE, 40.0)]
    assert "matches no registered prompt version" in unknown[0]["message"]
    new = [a for a in alerts if a["kind"] == "new_model"]
    assert [(a["model"], a["value"], a["severity"]) for a in new] == [("gpt-9-preview", 40.0, "warning")]
    first_night = alerts_for_date(str(settings.db_path), START)
    assert not [a for a in first_night if a["kind"] == "new_model"], "no history, nothing is new"


def test_rerunning_a_night_replaces_its_rows(store: tuple[Settings, pd.DataFrame, pd.DataFrame]) -> None:
    settings, _, _ = store
    last = START + timedelta(days=NIGHTS - 1)
    before = (metrics_for_date(str(settings.db_path), last), alerts_for_date(str(settings.db_path), last))
    run_monitoring(settings, last)
    after = (metrics_for_date(str(settings.db_path), last), alerts_for_date(str(settings.db_path), last))
    assert after == before
    assert len(metrics_between(str(settings.db_path), START, last)) == NIGHTS + 1


def test_an_empty_registry_skips_the_unknown_hash_check(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    write_jsonl(tmp_path / "landing/requests-1.jsonl",
                [request_record(1, prompt_hash=ROGUE, timestamp="2026-11-02T10:00:00Z")])
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    ingest_paths(settings, [tmp_path / "landing"])
    result = run_monitoring(settings, date(2026, 11, 2))
    assert result.alerts == [] and result.versions == 1
    assert any("registry is empty" in note for note in result.notes)
    assert run_monitoring(settings, date(2026, 11, 9)).notes[0] == "no requests on 2026-11-09"


# The sample data with its planted anomalies: alerts on the night they start, not before.
ANOMALY_SPEC = SampleSpec(days=9, users=1500, latency_regression_day=6, input_shift_day=7)


def _monitor_sample(root: Path, spec: SampleSpec) -> tuple[dict[str, Any], dict[int, list[dict[str, Any]]]]:
    truth = write_sample_data(root, spec)
    settings = load_settings(db=root / "f.duckdb", project_dir=root)
    ingest_paths(settings, [root / "landing"])
    with connect(settings.db_path) as con:
        for path in sorted((root / "prompts").rglob("*.yaml")):
            register_version(con, yaml.safe_load(path.read_text(encoding="utf-8")), source_file=str(path))
    alerts = {}
    for day in range(spec.days):
        run_monitoring(settings, spec.start + timedelta(days=day))
        alerts[day] = alerts_for_date(str(settings.db_path), spec.start + timedelta(days=day))
    return truth, alerts


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[int, list[dict[str, Any]]]]:
    return _monitor_sample(tmp_path_factory.mktemp("planted"), ANOMALY_SPEC)


def test_the_planted_latency_regression_alerts_on_its_first_night_and_not_before(
    planted: tuple[dict[str, Any], dict[int, list[dict[str, Any]]]],
) -> None:
    truth, alerts = planted
    regression = next(a for a in truth["anomalies"] if a["kind"] == "latency_regression")
    assert regression["start"] == str(ANOMALY_SPEC.start + timedelta(days=6))

    def latency_alerts(day: int) -> list[dict[str, Any]]:
        return [a for a in alerts[day] if a["kind"] == "drift" and a["metric"].startswith("latency")
                and a["prompt_hash"] in regression["prompt_hashes"]]

    assert all(not latency_alerts(day) for day in range(6))
    fired = latency_alerts(6)
    assert {a["metric"] for a in fired} >= {"latency_p50_ms"}
    assert all(a["value"] > a["limit_high"] for a in fired)


def test_the_planted_input_length_shift_alerts_on_its_first_night_and_not_before(
    planted: tuple[dict[str, Any], dict[int, list[dict[str, Any]]]],
) -> None:
    truth, alerts = planted
    shift = next(a for a in truth["anomalies"] if a["kind"] == "input_length_shift")

    def psi_alerts(day: int) -> list[dict[str, Any]]:
        return [a for a in alerts[day] if a["metric"] == "input_tokens_psi"
                and a["prompt_hash"] in shift["prompt_hashes"]]

    assert all(not psi_alerts(day) for day in range(7))
    fired = psi_alerts(7)
    assert fired and all(a["severity"] == "critical" and a["value"] >= 0.25 for a in fired)
    assert not [a for day in range(9) for a in alerts[day] if a["kind"] == "psi"
                and a["prompt_hash"] not in shift["prompt_hashes"]]


def test_without_the_plants_the_same_data_raises_no_latency_or_shift_alert(tmp_path: Path) -> None:
    plain = SampleSpec(days=ANOMALY_SPEC.days, users=ANOMALY_SPEC.users)
    truth, alerts = _monitor_sample(tmp_path, plain)
    assert truth["anomalies"] == []
    regressed = {"70f434f035b4"}  # support/v1.yaml, the version the regression would slow down
    flagged = [a for day in alerts for a in alerts[day] if a["kind"] == "psi"
               or (a["metric"].startswith("latency") and a["prompt_hash"][:12] in regressed)]
    assert flagged == []


def test_the_monitoring_tables_are_in_the_store(store: tuple[Settings, pd.DataFrame, pd.DataFrame]) -> None:
    settings, _, _ = store
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()
    assert {"runs", "monitor_metrics", "monitor_alerts"} <= tables
