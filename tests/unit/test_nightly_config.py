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


def test_every_scalar_setting_has_one_environment_route_and_the_documented_aliases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    from flywheel.tasks import config

    documented = set(re.findall(r"``([A-Z][A-Z_]+)``\s*\|", config.__doc__ or ""))
    variables = config.env_variables()
    assert set(config.ENV_ALIASES) <= documented
    assert documented - set(variables) == {"OPENAI_API_KEY"}  # the key is read where calls are made
    monkeypatch.setenv("FLYWHEEL_EVAL_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("FLYWHEEL_EVAL_STREAM", "true")
    monkeypatch.setenv("FLYWHEEL_DB_TIMEOUT", "2.5")  # an alias of db_lock_timeout_s
    monkeypatch.setenv("FLYWHEEL_LANDING_DIR", str(tmp_path / "in"))
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    assert (settings.eval_max_attempts, settings.eval_stream, settings.db_lock_timeout_s) == (3, True, 2.5)
    assert settings.landing == tmp_path / "in"
    monkeypatch.setenv("FLYWHEEL_EVAL_MAX_ATTEMPTS", "three")
    with pytest.raises(config.UsageError, match="FLYWHEEL_EVAL_MAX_ATTEMPTS = 'three': expected a whole number"):
        load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
