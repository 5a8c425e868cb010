"""The prompts-sync, promote and rollback flows, and the nightly prompts-sync step."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from flywheel.flows.nightly import nightly_flywheel
from flywheel.flows.promote import promote_flow
from flywheel.flows.prompts_sync import prompts_sync_flow
from flywheel.flows.rollback import rollback_flow
from flywheel.tasks.db import connect
from flywheel.tasks.registry._labels import history
from flywheel.tasks.registry._sync import PromptSyncError
from tests.conftest import REPO, request_record

V1, V2 = "c770c3e82d2c", "4e87706da084"


def artifact(key: str) -> str:
    """The Markdown of the latest artifact with this key."""

    async def read() -> str:
        async with get_client() as client:
            found = [a for a in await client.read_latest_artifacts() if a.key == key]
            assert found, key
            return str(found[0].data)

    return asyncio.run(read())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "prompts", tmp_path / "prompts")
    return tmp_path


def test_promote_and_rollback_flows_move_the_label_and_publish_what_changed(
    project: Path,
) -> None:
    where = {"db_path": str(project / "f.duckdb"), "project_dir": str(project)}
    synced = prompts_sync_flow(by="ci", **where)
    assert len(synced["registered"]) == 5 and len(synced["labels_created"]) == 4

    promoted = promote_flow(name="summarizer", ref=V2, reason="shorter wins", by="ann", **where)
    assert promoted["changed"]
    assert (promoted["from_hash"][:12], promoted["to_hash"][:12]) == (V1, V2)
    markdown = artifact("promote-summarizer-production")
    for expected in ("# Promote: summarizer@production", f"| from | `{V1}` |", f"| to | `{V2}` |",
                     "| by | ann |", "| reason | shorter wins |", "-params.max_tokens: 200",
                     "+params.max_tokens: 80", "flywheel prompts rollback summarizer"):
        assert expected in markdown, expected

    rolled = rollback_flow(name="summarizer", reason="complaints", by="bob", **where)
    assert (rolled["from_hash"][:12], rolled["to_hash"][:12]) == (V2, V1)
    markdown = artifact("rollback-summarizer-production")
    assert "# Rollback: summarizer@production" in markdown and "| undoes | move #" in markdown
    assert "+params.max_tokens: 200" in markdown

    with connect(where["db_path"]) as con:
        moves = history(con, "summarizer", label="production")
    assert [(m.action, m.moved_by, m.reason) for m in moves[:2]] == [
        ("rollback", "bob", "complaints"), ("promote", "ann", "shorter wins")]


def test_a_bad_ref_fails_the_promote_flow_with_a_usage_error(project: Path) -> None:
    where = {"db_path": str(project / "f.duckdb"), "project_dir": str(project)}
    prompts_sync_flow(**where)
    with pytest.raises(Exception, match="no registered version matches") as info:
        promote_flow(name="summarizer", ref="ffffff", **where)
    assert getattr(info.value, "exit_code", None) == 2


def test_the_sync_flow_registers_valid_files_then_fails_naming_the_invalid_ones(
    project: Path,
) -> None:
    (project / "prompts/broken.yaml").write_text("name: broken\nmodel: m\ntemplate: '{{ x'\n")
    where = {"db_path": str(project / "f.duckdb"), "project_dir": str(project)}
    with pytest.raises(PromptSyncError) as info:
        prompts_sync_flow(**where)
    summary = info.value.summary
    assert len(summary["registered"]) == 5
    assert summary["errors"][0]["file"] == "prompts/broken.yaml"
    assert "prompts/broken.yaml:3: template: not a valid Jinja2 template" in str(info.value)
    assert "| prompts/broken.yaml | 3 | template |" in artifact("prompts-sync")


def test_the_nightly_flow_syncs_prompts_after_ingest_and_links_the_requests(
    project: Path, write_jsonl: Callable[..., Path]
) -> None:
    full_v1 = "c770c3e82d2cc3b3868b709b89a4e9ea698bae6f886953220fd64d44168c98f5"
    write_jsonl(project / "landing/requests-1.jsonl", [
        request_record(1, prompt_name="summarizer", prompt_hash=full_v1[:12]),
        request_record(2, prompt_name="summarizer", prompt_hash="ab" * 6),
    ])
    result = nightly_flywheel(run_date="2026-11-02", db_path=str(project / "f.duckdb"),
                              project_dir=str(project))
    steps = [s["step"] for s in result["steps"]]
    assert steps.index("prompts-sync") == steps.index("ingest") + 1
    assert all(s["status"] == "ok" for s in result["steps"])
    links = result["prompts"]["links"]
    assert (links["resolved"], links["unknown"]) == (1, 1)
    assert links["unlinked"][0]["example_request_ids"] == ["req-2"]
    assert "abababababab" in artifact("prompts-sync")
