"""The closed-loop demo's application (tasks/sample_data/_loop.py): traffic served from the
current serving.json through flywheel's serving client and the demo model over HTTP, feedback
that follows correctness, so that a label moved at night changes the next day."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from scipy.stats import chi2_contingency

from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.demo_model import DemoModelServer
from flywheel.tasks.optimize import two_proportion_test
from flywheel.tasks.registry import folder_files, promote, sync_paths
from flywheel.tasks.sample_data import ClosedLoopApp, SampleSpec, write_project
from flywheel.tasks.sample_data import _content as content
from flywheel.tasks.serving import write_snapshot

POLICIES = "\n".join(f"- Q: {q} A: {right}" for q, _, right in content.SUPPORT_QA)


def _lines(folder, kind: str) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.rglob(f"{kind}*.jsonl"))
            for line in path.read_text().splitlines()]


def test_a_label_moved_at_night_changes_the_next_days_answers_and_feedback(tmp_path) -> None:
    write_project(tmp_path)
    (tmp_path / "experiments" / "tone-test.yaml").unlink()
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with connect(settings.db_path) as con:
        sync_paths(con, folder_files(settings.dir("prompts")), base=tmp_path, now=start)
    write_snapshot(settings, reason="test", now=start)
    spec = SampleSpec(days=2, users=600)
    with DemoModelServer() as server:
        app = ClosedLoopApp(tmp_path, spec, server.base_url)
        before = app.run_day(0)
        # "the night": a version that states every policy becomes production
        v1 = (tmp_path / "prompts/support/v1.yaml").read_text()
        policy_file = tmp_path / "prompts/support/v9-policies.yaml"
        policy_file.write_text(v1.replace("labels: [production]", "labels: []").replace(
            "If you are not sure, say so and offer to open a ticket.",
            "If you are not sure, say so and offer to open a ticket.\n  "
            + POLICIES.replace("\n", "\n  ")))
        with connect(settings.db_path) as con:
            summary = sync_paths(con, [policy_file], base=tmp_path).to_dict()
            promote(con, "support", summary["registered"][0]["hash"], by="test")
        write_snapshot(settings, reason="test")
        after = app.run_day(1)
        assert server.calls == before.model_calls + after.model_calls  # real HTTP, once each
    def support(stats) -> dict[str, int]:
        rows = [v for k, v in stats.by_version.items() if k.startswith("support:")]
        return {key: sum(r[key] for r in rows) for key in ("requests", "right", "thumbs", "up")}
    b, a = support(before), support(after)
    assert b["right"] / b["requests"] < 0.05 < 0.5 < a["right"] / a["requests"]
    assert a["up"] / a["thumbs"] > b["up"] / b["thumbs"] + 0.2  # feedback follows correctness
    day0 = _lines(tmp_path / "landing" / "2026-11-01", "requests")
    day1 = _lines(tmp_path / "landing" / "2026-11-02", "requests")
    assert len(day0) == before.requests and len(day1) == after.requests
    assert {r["prompt_hash"] for r in day1 if r["prompt_name"] == "support"} == {
        summary["registered"][0]["hash"]}
    outputs = {r["request_id"]: r["output"] for r in day0 + day1 if r["prompt_name"] == "support"}
    corrections = [f for f in _lines(tmp_path / "landing", "feedback")
                   if f["kind"] == "correction" and f["request_id"] in outputs]
    # a support correction is the right answer, given to an answer that did not contain it
    assert corrections and all(f["corrected_output"] not in outputs[f["request_id"]]
                               for f in corrections)


@pytest.mark.parametrize(("a", "n_a", "b", "n_b"), [(670, 1625, 805, 1585), (30, 100, 45, 100),
                                                    (50, 100, 40, 100)])
def test_the_two_proportion_test_matches_the_chi_square_reference(a, n_a, b, n_b) -> None:
    result = two_proportion_test(a, n_a, b, n_b)
    chi2, p, _, _ = chi2_contingency([[a, n_a - a], [b, n_b - b]], correction=False)
    assert result["z"] ** 2 == pytest.approx(chi2)
    one_sided = p / 2 if result["z"] > 0 else 1 - p / 2
    assert result["p_value"] == pytest.approx(one_sided)
