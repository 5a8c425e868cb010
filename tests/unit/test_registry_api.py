"""The application API: get/render with an in-process TTL cache, refresh, a busy database."""

from __future__ import annotations

import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flywheel.tasks.db import connect
from flywheel.tasks.errors import DatabaseBusyError, FlywheelError, UsageError
from flywheel.tasks.registry import _api as api
from flywheel.tasks.registry._api import PromptRegistry
from flywheel.tasks.registry._labels import promote
from flywheel.tasks.registry._sync import folder_files, sync_paths
from tests.conftest import REPO

pytestmark = pytest.mark.unit

V1, V2 = "c770c3e82d2c", "4e87706da084"
V1_FULL = "c770c3e82d2cc3b3868b709b89a4e9ea698bae6f886953220fd64d44168c98f5"


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registered(db_path: Path) -> Path:
    with connect(db_path) as con:
        sync_paths(con, folder_files(REPO / "prompts"), base=REPO, by="t")
    return db_path


def move(db_path: Path, ref: str) -> None:
    with connect(db_path) as con:
        promote(con, "summarizer", ref, by="t")


def test_a_label_is_read_once_per_ttl_and_follows_a_promotion_after_it(registered: Path) -> None:
    clock = Clock()
    prompts = PromptRegistry(registered, ttl_s=30, clock=clock)
    assert prompts.get("summarizer@production").short == V1
    assert prompts.get(" summarizer@production ").short == V1
    assert prompts.db_reads == 1
    move(registered, V2)
    clock.now += 29
    assert prompts.get("summarizer@production").short == V1  # still cached
    clock.now += 2
    assert prompts.get("summarizer@production").short == V2  # re-resolved after the TTL
    assert prompts.db_reads == 2


def test_refresh_forgets_resolved_labels_at_once(registered: Path) -> None:
    prompts = PromptRegistry(registered, ttl_s=3600, clock=Clock())
    prompts.get("summarizer@production")
    prompts.get("support@production")
    move(registered, V2)
    prompts.refresh("summarizer@production")
    assert prompts.get("summarizer@production").short == V2
    assert prompts.db_reads == 3
    prompts.refresh()
    prompts.get("support@production")
    assert prompts.db_reads == 4


def test_a_full_hash_never_expires_and_a_prefix_does(registered: Path) -> None:
    clock = Clock()
    prompts = PromptRegistry(registered, ttl_s=1, clock=clock)
    for ref in (V1_FULL, f"summarizer:{V1_FULL}", f"summarizer:{V1}"):
        prompts.get(ref)
    clock.now += 10
    for ref in (V1_FULL, f"summarizer:{V1_FULL}"):
        assert prompts.get(ref).hash == V1_FULL
    assert prompts.db_reads == 3
    prompts.get(f"summarizer:{V1}")
    assert prompts.db_reads == 4


def test_render_a_fetched_version_or_a_ref(registered: Path) -> None:
    prompts = PromptRegistry(registered)
    version = prompts.get("support@candidate")
    messages = prompts.render(version, {"question": "Can I get a refund?"})
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[-1]["content"].startswith("Customer question: Can I get a refund?")
    assert prompts.render("support@candidate", {"question": "Can I get a refund?"}) == messages
    with pytest.raises(UsageError, match="support@production: missing template variable "
                                         "'question'"):
        prompts.render("support@production", {"order_id": "A-1"})


def test_an_unknown_ref_lists_candidates_and_is_not_cached(registered: Path) -> None:
    prompts = PromptRegistry(registered)
    for _ in range(2):
        with pytest.raises(UsageError, match="its labels: summarizer@candidate, "
                                             "summarizer@production"):
            prompts.get("summarizer@prod")
    assert prompts.db_reads == 2


def test_a_missing_database_is_named(tmp_path: Path) -> None:
    with pytest.raises(FlywheelError, match=r"no database at .*nope\.duckdb"):
        PromptRegistry(tmp_path / "nope.duckdb").get("summarizer@production")


def test_while_a_writer_holds_the_file_the_last_version_is_served(
    registered: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    prompts = PromptRegistry(registered, ttl_s=5, busy_timeout_s=0.2, clock=clock)
    assert prompts.get("summarizer@production").short == V1
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(registered)!r}); "
                               "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        clock.now += 6
        with caplog.at_level(logging.WARNING, logger="flywheel.tasks.registry._api"):
            assert prompts.get("summarizer@production").short == V1  # stale, not an error
        assert "busy; serving the cached c770c3e82d2c" in caplog.text
        with pytest.raises(DatabaseBusyError, match="database is busy"):
            prompts.get("support@production")  # never resolved: nothing to serve
    finally:
        holder.kill()
        holder.wait()
    clock.now += 6
    assert prompts.get("support@production").name == "support"  # the file is free again


def test_concurrent_threads_get_consistent_versions(registered: Path) -> None:
    prompts = PromptRegistry(registered, ttl_s=0.001)
    refs = ["summarizer@production", "support@candidate", f"summarizer:{V2}"] * 40
    with ThreadPoolExecutor(max_workers=8) as pool:
        shorts = list(pool.map(lambda r: prompts.get(r).short, refs))
    assert set(shorts) == {V1, "4f0cb83d1c08", V2}
    assert shorts[:3] == [V1, "4f0cb83d1c08", V2]


def test_the_module_functions_use_the_configured_database(
    registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLYWHEEL_DB", str(registered))
    monkeypatch.setenv("FLYWHEEL_PROMPT_CACHE_TTL", "7")
    monkeypatch.setattr(api, "_default", None)
    assert api.get("summarizer@production").short == V1
    assert api.default_registry().ttl_s == 7
    assert api.render("summarizer@production", {"text": "T"})[-1]["content"].endswith("\nT")
    api.refresh()


def test_a_file_missing_a_migration_is_refused_read_only(registered: Path) -> None:
    with connect(registered) as con:
        con.execute("DELETE FROM schema_version WHERE version = 3")
    with pytest.raises(FlywheelError, match=r"missing migrations: 3; unknown: none"):
        PromptRegistry(registered).get("summarizer@production")
