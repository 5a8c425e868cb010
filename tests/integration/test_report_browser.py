"""The reports in a real browser: headless Chromium (Debian's ``chromium``; ``.ci/run``
installs it) loads them from disk with no console error and no request but the file itself,
shows the decision and the charts, runs no payload, and a screenshot is saved
(``FLYWHEEL_SCREENSHOT_DIR`` keeps a copy to look at).

Without Chromium the tests skip, unless ``FLYWHEEL_REQUIRE_BROWSER`` is set (CI sets it).
"""

from __future__ import annotations

import os
import shutil
import struct
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.ab import run_nightly_analysis
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.registry._sync import folder_files, sync_paths
from flywheel.tasks.reports import build_night
from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from tests.support.browser import Chromium, chromium_binary
from tests.support.hostile_project import build_hostile_project
from tests.support.report_support import eval_on_demo_model, ingest

pytestmark = pytest.mark.integration

SPEC = SampleSpec(users=1500, days=6)
NIGHT = date(2026, 11, 6)
DECISIONS = ("PROMOTE", "HOLD", "REJECT", "ROLLBACK")


@pytest.fixture(scope="module")
def browser() -> Any:
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("FLYWHEEL_REQUIRE_BROWSER"):
            pytest.fail("FLYWHEEL_REQUIRE_BROWSER is set but no chromium is on PATH")
        pytest.skip("no chromium on PATH (apt-get install -y chromium)")
    with Chromium(binary) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("browser")
    write_sample_data(root, SPEC)
    with DemoModelServer() as demo:
        mp = pytest.MonkeyPatch()
        mp.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0123456789")
        settings = load_settings(db=root / "flywheel.duckdb", project_dir=root,
                                 openai_base_url=demo.base_url)
        ingest(settings)
        with connect(settings.db_path) as con:
            sync_paths(con, folder_files(root / "prompts"), base=root, by="test")
        for day in range(2, 6):
            run_nightly_analysis(settings, SPEC.start + timedelta(days=day))
        eval_on_demo_model(settings, root / "evalsets" / "support.jsonl",
                           ["support@production", "support@candidate"])
        mp.undo()
    return build_night(settings, NIGHT)


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def _keep(shot: Path) -> None:
    keep = os.environ.get("FLYWHEEL_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


def test_a_report_loads_cleanly_with_its_decision_and_charts(
        browser: Chromium, sample_reports: dict[str, Any], tmp_path: Path) -> None:
    report = next(p for p in sample_reports["prompts"] if p["prompt"] == "support")
    page = Path(report["html"])
    loaded = browser.load(page.as_uri())
    assert loaded.errors == []
    assert loaded.requests == [page.as_uri()]  # nothing else fetched
    decision = browser.evaluate("document.querySelector('#decision').dataset.decision")
    assert decision == report["decision"] and decision in DECISIONS
    badge = browser.evaluate("document.querySelector('#decision .badge').innerText")
    assert decision in badge
    charts = browser.evaluate(
        "[...document.querySelectorAll('figure.chart svg')].map(s => {"
        " const r = s.getBoundingClientRect(); return [r.width, r.height,"
        " s.querySelectorAll('text').length]; })")
    assert len(charts) == 4  # forest, trend, latency per arm, eval pass rate per tag
    assert all(w > 300 and h > 100 and texts > 3 for w, h, texts in charts), charts
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("!!document.querySelector('[data-demo-model]')")
    shot = browser.screenshot(tmp_path / "support-report.png")
    width, height = _png_size(shot)
    assert width >= 1000 and height > 3000
    _keep(shot)


def test_the_index_links_every_report_of_the_night(
        browser: Chromium, sample_reports: dict[str, Any], tmp_path: Path) -> None:
    index = Path(sample_reports["index"])
    loaded = browser.load(index.as_uri())
    assert loaded.errors == [] and loaded.requests == [index.as_uri()]
    links = browser.evaluate("[...document.querySelectorAll('#tonight a')]"
                             ".map(a => a.getAttribute('href'))")
    for report in sample_reports["prompts"]:
        assert Path(report["html"]).name in links and Path(report["md"]).name in links
    _keep(browser.screenshot(tmp_path / "index.png"))


def test_hostile_text_runs_nothing_in_the_browser(browser: Chromium, tmp_path: Path) -> None:
    hostile = build_hostile_project(tmp_path / "hostile")
    for report in hostile["result"]["prompts"]:
        page = Path(report["html"])
        loaded = browser.load(page.as_uri())
        assert loaded.errors == [] and loaded.requests == [page.as_uri()]
        dialogs = [e for e in browser.events if e.get("method") == "Page.javascriptDialogOpening"]
        assert dialogs == []
        assert browser.evaluate("document.scripts.length") == 0
        assert browser.evaluate("document.querySelectorAll('img, iframe, textarea').length") == 0
        assert browser.evaluate("document.body.innerText.includes('XSS-request_output <script>')") \
            or report["prompt"] != "support"
    _keep(browser.screenshot(tmp_path / "hostile.png"))
