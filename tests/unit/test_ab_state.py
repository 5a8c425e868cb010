"""The A/B analysis's nightly state (tasks/ab/_state.py): a night computes only the nights that
changed and reads the rest back, and its numbers equal, to the last bit, the analysis of the raw
logs — night after night, after late requests and late feedback, after a change of an
experiment file or of the stored table, and on a re-run of an earlier night (which leaves the
state alone)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.ab import LATENCY_BINS_PER_DECADE, as_of_moment, build_report, load_experiments
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.db import connect, run
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from tests.conftest import feedback_record, request_record

pytestmark = pytest.mark.unit

SPEC = SampleSpec(users=1200, days=6)  # two days of pre-period, four of the experiments
FIRST = SPEC.start + timedelta(days=SPEC.experiment_start_day)
NIGHTS = [FIRST + timedelta(days=d) for d in range(SPEC.days - SPEC.experiment_start_day)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ab-state")
    write_sample_data(root, SPEC)
    ingest_paths(load_settings(db=root / "flywheel.duckdb", project_dir=root), [root / "landing"])
    return root


@pytest.fixture
def settings(store: Path, tmp_path: Path) -> Settings:
    """A private copy of the sample project (the tests change its store and files)."""
    root = tmp_path / "proj"
    shutil.copytree(store, root)
    return load_settings(db=root / "flywheel.duckdb", project_dir=root)


def numbers(report: dict[str, Any]) -> str:
    """Everything the report says but its timings, as canonical text."""
    return json.dumps({k: v for k, v in report.items() if k != "timings"}, sort_keys=True)


def nightly(settings: Settings, night: date) -> dict[str, Any]:
    """The nightly's analysis of ``night`` (on the state), checked against the raw logs'."""
    kept = build_report(settings, night, keep_state=True)
    assert kept["timings"]["from_state"] is True
    raw = build_report(settings, night)
    assert raw["timings"]["from_state"] is False
    assert numbers(kept) == numbers(raw)
    kept_arms, raw_arms = arm_counts(settings, night)
    assert kept_arms and kept_arms == raw_arms
    return kept


def arm_counts(settings: Settings, night: date) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Per experiment, arm, logged prompt and latency bin, the requests: from the state's
    ab_arm_nights (what the report reads), and counted from the requests of each experiment's
    window (its start to its end or the night's end)."""
    as_of = as_of_moment(night)
    with connect(settings.db_path) as con:
        kept = con.execute("SELECT experiment, variant, prompt_hash, prompt_name, latency_bin, "
                           "sum(requests)::BIGINT FROM ab_arm_nights GROUP BY ALL "
                           "ORDER BY ALL").fetchall()
        run(con, "schema/latency_bin_macro")
        raw = []
        for exp in load_experiments(settings.dir("experiments")):
            end = min(exp.end, as_of) if exp.end else as_of
            raw += con.execute(
                "SELECT experiment, coalesce(variant, '(missing)'), prompt_hash, prompt_name, "
                "latency_bin(latency_ms, $k), count(*) FROM requests WHERE experiment = $e "
                "AND ts >= $start AND ts < $end GROUP BY ALL",
                {"k": LATENCY_BINS_PER_DECADE, "e": exp.name, "start": exp.start,
                 "end": end}).fetchall()
    return kept, sorted(raw, key=lambda row: tuple((v is None, v) for v in row))


def state(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    with connect(settings.db_path) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("ab_state", "ab_user_nights", "ab_arm_nights")}


def test_each_night_computes_its_own_night_and_matches_the_raw_logs(settings: Settings) -> None:
    computed = [nightly(settings, night)["timings"]["nights_computed"] for night in NIGHTS]
    # night 1: the pre-period (the CUPED lookback, shared: both start the same day) and both
    # experiments' first night; then tonight, and the nights whose requests got feedback since
    assert computed[0] == settings.ab_cuped_lookback_days + 2
    assert all(0 < n <= 2 * 2 for n in computed[1:]), computed
    assert any(e["metrics"] for e in build_report(settings, NIGHTS[-1])["experiments"])


def test_a_rerun_recomputes_nothing_and_an_earlier_night_leaves_the_state_alone(
        settings: Settings) -> None:
    first = {night: nightly(settings, night) for night in NIGHTS}
    kept = state(settings)
    assert kept["ab_user_nights"]
    again = build_report(settings, NIGHTS[-1], keep_state=True)
    assert again["timings"]["nights_computed"] == 0
    assert numbers(again) == numbers(first[NIGHTS[-1]])
    earlier = build_report(settings, NIGHTS[1], keep_state=True)
    assert earlier["timings"]["from_state"] is False  # before the mark: from the raw logs
    assert numbers(earlier) == numbers(first[NIGHTS[1]])
    assert state(settings) == kept


def test_late_requests_and_late_feedback_recompute_their_nights(
        settings: Settings, write_jsonl: Callable[..., Path]) -> None:
    for night in NIGHTS:
        nightly(settings, night)
    with connect(settings.db_path) as con:
        old, user, variant = con.execute(
            "SELECT request_id, user_id, variant FROM requests WHERE experiment = 'tone-test' "
            "AND ts < ?::TIMESTAMPTZ ORDER BY request_id LIMIT 1", [str(NIGHTS[1])]).fetchone()
    late = settings.project_dir / "late"
    write_jsonl(late / "requests-late.jsonl", [request_record(
        "late", user_id=user, experiment="tone-test", variant=variant,
        timestamp=f"{NIGHTS[1]}T12:00:00Z", latency_ms=1234.5, cost_usd=0.0123456789)])
    write_jsonl(late / "feedback-late.jsonl", [
        feedback_record("late-rating", request_id=old, kind="rating", value=4.5,
                        timestamp=f"{NIGHTS[-1]}T08:00:00Z"),
        feedback_record("late-thumb", request_id="req-late", kind="thumbs", value=0,
                        timestamp=f"{NIGHTS[1]}T12:01:00Z")])
    ingest_paths(settings, [late])
    rerun = nightly(settings, NIGHTS[-1])
    assert rerun["timings"]["nights_computed"] >= 2  # the late request's night, the old one's


def test_a_changed_experiment_file_or_table_is_rebuilt(settings: Settings) -> None:
    nightly(settings, NIGHTS[0])
    path = settings.dir("experiments") / "tone-test.yaml"
    text = path.read_text()
    changed = text.replace("weights: {control: 0.5, friendly: 0.5}",
                           "weights: {control: 0.4, friendly: 0.6}").replace(
                           "end: null", f"end: {NIGHTS[2]}T12:00:00Z")
    assert changed.count("0.6") == 1 and "T12:00" in changed
    path.write_text(changed)
    lookback = settings.ab_cuped_lookback_days
    rebuilt = nightly(settings, NIGHTS[1])["timings"]["nights_computed"]
    assert rebuilt >= lookback + 2 + 1  # tone-test whole (pre-period too), summary-length's night
    with connect(settings.db_path) as con:
        con.execute("ALTER TABLE ab_user_nights DROP COLUMN cost_n")  # an older declaration
    # both whole: tone-test ends at noon on the third night
    assert nightly(settings, NIGHTS[2])["timings"]["nights_computed"] == lookback + 3 + 3


def test_logs_deleted_from_the_store_rebuild_the_state(settings: Settings) -> None:
    nightly(settings, NIGHTS[1])
    with connect(settings.db_path) as con:
        con.execute("DELETE FROM requests WHERE experiment = 'tone-test' AND variant = 'friendly' "
                    "AND hash(user_id) % 10 = 0")
        con.execute("DELETE FROM feedback WHERE kind = 'rating' AND hash(feedback_id) % 10 = 0")
    assert nightly(settings, NIGHTS[1])["timings"]["nights_computed"] == (
        settings.ab_cuped_lookback_days + 2 * 2)
