"""A night's reports survive thin evidence (issue 23, item 1): a promotion with nothing to
compare against, an experiment with no traffic yet; each still gets its page, the problem
shown on it, and the index lists every prompt."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from flywheel.tasks.reports import build_night
from tests.support.report_support import (
    PROMOTED_AT,
    START,
    place_label,
    project,
    promote_at,
    register,
    repo_prompt,
)

pytestmark = pytest.mark.unit


def test_a_promotion_with_no_traffic_on_either_side_still_gets_its_report(
        tmp_path: Path) -> None:
    settings = project(tmp_path)
    v1, v2 = register(settings, [repo_prompt("support/v1.yaml"),
                                 repo_prompt("support/v2-friendly.yaml")])
    place_label(settings, "support", "production", v1, START - timedelta(days=1))
    promote_at(settings, "support", v2, PROMOTED_AT, reason="no logs at all")
    result = build_night(settings, PROMOTED_AT.date())
    (report,) = result["prompts"]
    html = Path(report["html"]).read_text(encoding="utf-8")
    assert 'data-problem="nothing-to-compare"' in html
    assert "Nothing to compare yet" in Path(report["md"]).read_text(encoding="utf-8")
    index = Path(result["index"]).read_text(encoding="utf-8")
    assert report["html"].rsplit("/", 1)[1] in index
    folder = Path(result["reports_dir"])
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir())  # no staging left
