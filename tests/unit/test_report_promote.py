"""PROMOTE on the sample data: the tone-test treatment with a real +10% thumbs-up lift is held
while nights accrue, then held by its significantly worse latency guardrail, and promoted once
the rules are met (that hold switched off); the same data with a planted sample
ratio mismatch is never promoted; re-making a night gives byte-identical files."""

from __future__ import annotations

import shlex
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.ab import run_nightly_analysis
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.registry._sync import folder_files, sync_paths
from flywheel.tasks.reports import build_night
from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from tests.support.report_support import ingest

pytestmark = pytest.mark.unit

# 6,000 users over 10 days: the +10% lift is significant (sequential test, Holm over nine
# metrics) within a few days, so the 7-day minimum run time is what holds it back.
SPEC = SampleSpec(users=6000, days=10)
FIRST = SPEC.start
EXPERIMENT_START = FIRST + timedelta(days=SPEC.experiment_start_day)
HELD, PROMOTED = date(2026, 11, 6), date(2026, 11, 10)


def support(result: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in result["prompts"] if p["prompt"] == "support")


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("promote")
    truth = write_sample_data(root, SPEC)
    settings = load_settings(db=root / "flywheel.duckdb", project_dir=root)
    ingest(settings)
    with connect(settings.db_path) as con:
        sync_paths(con, folder_files(root / "prompts"), base=root, by="test")
    for day in range((PROMOTED - EXPERIMENT_START).days + 1):
        run_nightly_analysis(settings, EXPERIMENT_START + timedelta(days=day))
    held = build_night(settings, HELD)
    promoted = build_night(settings, PROMOTED)
    return {"root": root, "truth": truth, "settings": settings, "held": held,
            "promoted": promoted,
            "files": files_of(settings.dir("reports") / PROMOTED.isoformat())}


def test_the_winning_treatment_is_held_while_nights_accrue(sample: dict[str, Any]) -> None:
    report = support(sample["held"])
    assert (report["decision"], report["rule"]) == ("HOLD", "hold.collecting")
    assert report["command"] is None
    # 4 of the 7 days have passed: the rest is how much more data it needs
    assert report["days_more"] == pytest.approx(3.0)


def test_the_winner_is_held_while_its_latency_guardrail_is_significantly_worse(
        sample: dict[str, Any]) -> None:
    """The truth's +7.5% p95 latency is significantly worse long before a 10% margin can be
    shown: hold.guardrail_worse, with the requests that would show it."""
    report = support(sample["promoted"])
    assert (report["decision"], report["rule"]) == ("HOLD", "hold.guardrail_worse")
    assert "latency_p95_ms" in report["summary"] and "significantly worse" in report["summary"]
    assert "requests in the two arms would show it" in report["summary"] and report["command"] is None


def test_the_winning_treatment_is_promoted_once_enough_nights_have_accrued(
        sample: dict[str, Any], tmp_path: Path) -> None:
    """With hold.guardrail_worse switched off (decisions.yaml), the rules are met on the 10th."""
    friendly = sample["truth"]["experiments"]["tone-test"]["friendly"]
    root = tmp_path / "no-guardrail-hold"
    shutil.copytree(sample["root"], root, ignore=shutil.ignore_patterns("landing"))
    (root / "decisions.yaml").write_text("promote: {hold_on_significantly_worse_guardrail: false}\n")
    report = support(build_night(load_settings(db=root / "flywheel.duckdb", project_dir=root),
                                 PROMOTED))
    assert (report["decision"], report["rule"]) == ("PROMOTE", "promote.online_win")
    assert report["subject"]["hash"] == friendly["prompt_hash"]
    short = friendly["prompt_hash"][:12]
    words = shlex.split(report["command"])
    assert words[:5] == ["flywheel", "prompts", "promote", "support", f"support:{short}"]
    assert "tone-test" in words[6] and "thumbs_up_rate" in words[6]
    assert shlex.split(report["undo"])[:4] == ["flywheel", "prompts", "rollback", "support"]
    html = Path(report["html"]).read_text()
    assert 'data-decision="PROMOTE"' in html and shlex.quote(words[6]) in html.replace(
        "&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
    index = (Path(report["html"]).parent / "index.html").read_text()
    assert "support.html" in index and f"../{HELD.isoformat()}/support.html" in index


def test_the_summarizer_is_never_promoted(sample: dict[str, Any]) -> None:
    """Its arms show no lift (concise) or a loss (detailed) in the truth."""
    for result in (sample["held"], sample["promoted"]):
        report = next(p for p in result["prompts"] if p["prompt"] == "summarizer")
        assert report["decision"] in ("HOLD", "REJECT")


def test_a_planted_sample_ratio_mismatch_is_never_promoted(sample: dict[str, Any],
                                                           tmp_path: Path) -> None:
    root = tmp_path / "srm"
    shutil.copytree(sample["root"], root, ignore=shutil.ignore_patterns("reports", "landing"))
    settings = load_settings(db=root / "flywheel.duckdb", project_dir=root)
    with connect(settings.db_path) as con:  # lose a tenth of the friendly arm's users
        users = sorted(r[0] for r in con.execute(
            "SELECT DISTINCT user_id FROM requests "
            "WHERE experiment = 'tone-test' AND variant = 'friendly'").fetchall())
        con.execute("DELETE FROM requests WHERE experiment = 'tone-test' AND "
                    "list_contains($dropped, user_id)", {"dropped": users[: len(users) // 10]})
    analysis = run_nightly_analysis(settings, PROMOTED)
    tone = next(e for e in analysis["experiments"] if e["name"] == "tone-test")
    assert "srm" in tone["checks"]["failed"]
    lift = next(m for m in tone["metrics"]
                if m["metric"] == "thumbs_up_rate" and m["variant"] == "friendly")
    assert lift["estimate"] > 0.05  # the effect is still there: only trust is missing
    report = support(build_night(settings, PROMOTED))
    assert (report["decision"], report["rule"]) == ("HOLD", "hold.untrustworthy")
    assert report["days_more"] is None and report["command"] is None
    assert "SRM p = " in report["summary"]


def test_making_a_night_again_gives_byte_identical_files(sample: dict[str, Any]) -> None:
    settings = sample["settings"]
    run_nightly_analysis(settings, PROMOTED)  # the night's A/B step re-run too
    build_night(settings, PROMOTED)
    again = files_of(settings.dir("reports") / PROMOTED.isoformat())
    assert again.keys() == sample["files"].keys()
    for name, content in again.items():
        assert content == sample["files"][name], name
