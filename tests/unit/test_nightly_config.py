"""The nightly and monitoring settings: defaults, flywheel.toml, environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.tasks.config import load_settings

pytestmark = pytest.mark.unit


def test_defaults_toml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLYWHEEL_ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("FLYWHEEL_NIGHTLY_LOCK_TIMEOUT", raising=False)
    plain = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    assert (plain.nightly_lock_timeout_s, plain.monitor_baseline_nights, plain.alert_webhook_url) == (
        600.0, 7, None)
    (tmp_path / "flywheel.toml").write_text(
        'alert_webhook_url = "https://hooks.example/T/B/x"\nmonitor_baseline_nights = 14\n'
        "monitor_min_relative_change = 0.2\nnightly_lock_timeout_s = 5\n")
    from_toml = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    assert from_toml.alert_webhook_url == "https://hooks.example/T/B/x"
    assert (from_toml.monitor_baseline_nights, from_toml.monitor_min_relative_change) == (14, 0.2)
    assert from_toml.nightly_lock_timeout_s == 5.0
    monkeypatch.setenv("FLYWHEEL_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("FLYWHEEL_NIGHTLY_LOCK_TIMEOUT", "0.5")
    from_env = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    assert (from_env.alert_webhook_url, from_env.nightly_lock_timeout_s) == ("http://127.0.0.1:9/hook", 0.5)
