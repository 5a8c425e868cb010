"""Shared fixtures, and the test tiers. Flow tests get one Prefect test harness per session
(tests/flows/conftest.py); helpers the tests share are in tests/support/."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest

# Tests never reach a real model API, MLflow store or Prefect server configured on this machine:
# the session starts without the settings that would point flywheel at one (cleared here, when
# pytest loads this file, before any test module imports flywheel, openai or prefect). A test
# that needs one sets it itself (monkeypatch.setenv, a subprocess's env); the integration tier
# sets PREFECT_API_URL to its own server (tests/integration/conftest.py).
CLEARED_PREFIXES = ("OPENAI_", "FLYWHEEL_")
CLEARED_NAMES = ("MLFLOW_TRACKING_URI", "PREFECT_API_URL")
# switches of the test suite itself, not flywheel settings: .ci/run sets FLYWHEEL_REQUIRE_BROWSER,
# tests/integration/test_report_browser.py reads both
KEPT_NAMES = ("FLYWHEEL_REQUIRE_BROWSER", "FLYWHEEL_SCREENSHOT_DIR")


def clear_outside_settings(environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Remove the model API, flywheel, MLflow and Prefect server settings; return their names."""
    names = [name for name in environ
             if (name.startswith(CLEARED_PREFIXES) or name in CLEARED_NAMES) and name not in KEPT_NAMES]
    for name in names:
        del environ[name]
    return sorted(names)


clear_outside_settings()
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(relative: str) -> Path:
    """A file of ../shared/data, or skip the test with the reason when it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


# A test's tier is the folder it sits in (the markers are declared in pyproject.toml), so that
# `pytest -m unit` runs exactly tests/unit/.
TIER_OF_FOLDER = {"unit": "unit", "flows": "flow", "integration": "integration"}
TIERS = frozenset(TIER_OF_FOLDER.values())


def tier_of(path: Path) -> str | None:
    """The tier marker of a test file under tests/, by its folder (None outside the tiers)."""
    parts = path.resolve().relative_to(REPO / "tests").parts
    return TIER_OF_FOLDER.get(parts[0]) if len(parts) > 1 else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its folder's tier; refuse a test left with none or with two."""
    for item in items:
        tier = tier_of(Path(str(item.path)))
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))
        marked = sorted({mark.name for mark in item.iter_markers() if mark.name in TIERS})
        if len(marked) != 1:
            raise pytest.UsageError(f"{item.nodeid} has tier markers {marked}: put it in one of "
                                    f"tests/{{{','.join(TIER_OF_FOLDER)}}}/")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh DuckDB file path (created on first connect)."""
    return tmp_path / "flywheel.duckdb"


def request_record(i: int | str, **overrides: Any) -> dict[str, Any]:
    """A valid request record (§2) with the given overrides."""
    record: dict[str, Any] = {
        "request_id": f"req-{i}",
        "timestamp": "2026-11-02T10:00:00+02:00",
        "user_id": f"user-{i}",
        "model": "gpt-4o-mini",
        "input": {"question": "How do I get a refund?"},
        "output": "From Billing → Invoices.",
        "latency_ms": 812.5,
        "prompt_tokens": 120,
        "completion_tokens": 30,
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not ...}


def feedback_record(i: int | str, **overrides: Any) -> dict[str, Any]:
    """A valid feedback record (§2) with the given overrides."""
    record: dict[str, Any] = {
        "feedback_id": f"fb-{i}",
        "request_id": f"req-{i}",
        "timestamp": "2026-11-02T10:05:00Z",
        "kind": "thumbs",
        "value": 1,
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not ...}


@pytest.fixture
def write_jsonl() -> Callable[..., Path]:
    """Write records (dicts, or raw strings written as they are) as JSON Lines."""

    def write(path: Path, records: list[Any], *, trailing_newline: bool = True) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + ("\n" if trailing_newline and lines else ""), "utf-8")
        return path

    return write
