"""Serving in the flows: promote --ramp and rollback rewrite serving.json, the nightly flow's
rollout and serving-snapshot steps, and the serving / rollout commands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from flywheel.flows.cli.common import app
from flywheel.flows.nightly import nightly_flywheel
from flywheel.flows.promote import promote_flow
from flywheel.flows.rollback import rollback_flow
from flywheel.tasks.errors import UsageError
from flywheel.tasks.serving._client import Router
from tests.support.serving_support import (
    FIRST_DAY,
    SUMMARIZER_V1,
    SUMMARIZER_V2,
    Simulation,
    project,
)

TONE_RAMP = """name: tone-ramp
variants: {control: support@production, friendly: "support:4f0cb83d1c08"}
start: 2026-11-01
primary_metric: thumbs_up_rate
guardrails:
  - {metric: error_rate, worse_if: increase, max_relative_change: 0.05}
rollout: {stages: ["5%", "50%", "100%"], min_users_per_stage: 500}
"""


def artifact(key: str) -> str:
    """The Markdown of the latest artifact with this key."""

    async def read() -> str:
        async with get_client() as client:
            found = [a for a in await client.read_latest_artifacts() if a.key == key]
            assert found, key
            return str(found[0].data)

    return asyncio.run(read())


def cli(root: Path, *args: str) -> dict:
    result = CliRunner().invoke(app, ["--db", str(root / "flywheel.duckdb"), "--project-dir",
                                      str(root), *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_promote_with_a_ramp_and_rollback_rewrite_serving_json(tmp_path: Path) -> None:
    settings = project(tmp_path)
    where = {"db_path": str(settings.db_path), "project_dir": str(tmp_path)}
    promoted = promote_flow(name="summarizer", ref=SUMMARIZER_V2[:12], reason="shorter",
                            by="ann", ramp=[0.05, 0.5, 1.0], min_users_per_stage=50, **where)
    assert promoted["rollout"]["fraction"] == 0.05 and promoted["serving"]["rollouts"] == 1
    router = Router.load(settings.serving_file, check_interval_s=0.0)
    ramp = router.document["prompts"]["summarizer"]["rollouts"]["production"]
    assert (ramp["previous"], ramp["promoted"], ramp["fraction"]) == (SUMMARIZER_V1,
                                                                     SUMMARIZER_V2, 0.05)
    served = [router.choose("summarizer", f"user-{i}") for i in range(2000)]
    share = sum(c.hash == SUMMARIZER_V2 for c in served) / len(served)
    assert 0.03 < share < 0.07
    assert "ramp 5% → 50% → 100%" in artifact("promote-summarizer-production")

    rolled = rollback_flow(name="summarizer", reason="changed my mind", by="bob", **where)
    assert rolled["serving"]["generation"] == promoted["serving"]["generation"] + 1
    assert router.choose("summarizer", "user-1").hash == SUMMARIZER_V1
    assert router.document["prompts"]["summarizer"]["rollouts"] == {}

    status = cli(tmp_path, "rollout", "status")["rollouts"]
    assert [(r["subject"], r["status"], r["fraction"]) for r in status] == [
        ("summarizer@production", "ramping", 0.05)]  # cancelled by the next night
    shown = cli(tmp_path, "serving", "show")
    assert shown["generation"] == rolled["serving"]["generation"]


def test_the_ramp_flag_is_checked_before_anything_moves(tmp_path: Path) -> None:
    settings = project(tmp_path)
    args = ["--db", str(settings.db_path), "--project-dir", str(tmp_path), "prompts", "promote",
            "summarizer", SUMMARIZER_V2[:12]]
    for flag, message in ((["--ramp", "0.5,0.2"], "increase"), (["--ramp", "0.1,0.5"], "end at 1")):
        result = CliRunner().invoke(app, [*args, *flag])
        assert isinstance(result.exception, UsageError) and message in str(result.exception)
    result = CliRunner().invoke(app, [*args[:-1], SUMMARIZER_V1[:12], "--ramp", "0.1,1"])
    assert isinstance(result.exception, UsageError)
    assert "another version" in str(result.exception)
    assert not settings.serving_file.exists()


def test_the_nightly_flow_decides_on_ramps_and_publishes_the_snapshot(tmp_path: Path) -> None:
    settings = project(tmp_path, {"tone-ramp": TONE_RAMP})
    sim = Simulation(settings, users=400, subjects=("tone-ramp",))
    sim.run_day()
    sim.close()
    result = nightly_flywheel(run_date=FIRST_DAY.isoformat(), db_path=str(settings.db_path),
                              project_dir=str(tmp_path))
    steps = {s["step"]: s["status"] for s in result["steps"]}
    assert steps["rollout"] == steps["serving-snapshot"] == "ok"
    order = [s["step"] for s in result["steps"]]
    # the snapshot follows the rollout and the bandits' allocation (it publishes both)
    assert order.index("serving-snapshot") == max(order.index("rollout"),
                                                  order.index("allocate")) + 1
    decision = result["rollout"]["decisions"][0]
    assert (decision["subject"], decision["action"]) == ("tone-ramp", "hold")
    assert "data short" in decision["reason"]
    # the night's snapshot serves what the file in place serves (a hold changes nothing): no
    # new generation is written (issue 23: a night leaves the store as it was)
    assert result["serving"]["unchanged"] and result["serving"]["generation"] == 1
    assert json.loads(settings.serving_file.read_bytes())["generation"] == 1
    assert result["serving"]["reason"].startswith("nightly")
    summary = artifact("nightly-summary")
    assert "## Rollout" in summary and "| tone-ramp (experiment) | **hold** |" in summary
    assert "data short" in artifact("rollout")
    history = cli(tmp_path, "rollout", "history", "tone-ramp")["events"]
    assert [e["action"] for e in history] == ["hold", "start"]
