"""The test session starts without settings that point at a real model API, MLflow or Prefect."""

from __future__ import annotations

import os

import pytest

from tests.conftest import clear_outside_settings

pytestmark = pytest.mark.unit


def test_the_session_starts_without_outside_settings() -> None:
    leaked = [n for n in os.environ if n.startswith(("OPENAI_", "FLYWHEEL_"))
              and n not in ("FLYWHEEL_REQUIRE_BROWSER", "FLYWHEEL_SCREENSHOT_DIR")]
    assert leaked == []
    assert "MLFLOW_TRACKING_URI" not in os.environ


def test_clearing_keeps_the_test_suites_own_switches() -> None:
    env = {"OPENAI_API_KEY": "sk-real", "OPENAI_BASE_URL": "https://api.openai.com/v1",
           "FLYWHEEL_DB": "/data/prod.duckdb", "MLFLOW_TRACKING_URI": "http://mlflow:5000",
           "PREFECT_API_URL": "http://prefect:4200/api", "FLYWHEEL_REQUIRE_BROWSER": "1",
           "FLYWHEEL_SCREENSHOT_DIR": "/tmp/shots", "PREFECT_HOME": "/tmp/p", "PATH": "/bin"}
    assert clear_outside_settings(env) == ["FLYWHEEL_DB", "MLFLOW_TRACKING_URI", "OPENAI_API_KEY",
                                           "OPENAI_BASE_URL", "PREFECT_API_URL"]
    assert env == {"FLYWHEEL_REQUIRE_BROWSER": "1", "FLYWHEEL_SCREENSHOT_DIR": "/tmp/shots",
                   "PREFECT_HOME": "/tmp/p", "PATH": "/bin"}
