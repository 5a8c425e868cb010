"""Eval settings: flywheel.toml, environment, per-prompt endpoints, prices."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.evals._runner import (
    NoEndpointError,
    call_options,
    cost_usd,
    endpoint_for,
    price_of,
)


def test_toml_env_and_flags_set_the_eval_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flywheel.toml").write_text(
        'eval_concurrency = 4\neval_stream = true\neval_judge_model = "gpt-4.1-mini"\n'
        '[eval_endpoints.support]\nbase_url = "http://127.0.0.1:9/v1/"\n'
        'api_key_env = "SUPPORT_KEY"\n')
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8/v1")
    monkeypatch.setenv("FLYWHEEL_EVAL_TIMEOUT", "12.5")
    settings = load_settings(project_dir=tmp_path)
    options = call_options(settings)
    assert (options.concurrency, options.stream, options.timeout_s) == (4, True, 12.5)
    assert call_options(settings, concurrency=20).concurrency == 20
    assert settings.eval_judge_model == "gpt-4.1-mini"
    support = endpoint_for(settings, "support")
    assert (support.base_url, support.api_key_env) == ("http://127.0.0.1:9/v1", "SUPPORT_KEY")
    other = endpoint_for(settings, "summarizer")
    assert (other.base_url, other.api_key_env) == ("http://127.0.0.1:8/v1", "OPENAI_API_KEY")
    monkeypatch.setenv("FLYWHEEL_EVAL_CONCURRENCY", "many")
    with pytest.raises(UsageError, match="FLYWHEEL_EVAL_CONCURRENCY"):
        load_settings(project_dir=tmp_path)


def test_no_endpoint_unless_a_url_or_a_key_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = load_settings(project_dir=tmp_path)
    assert settings.openai_base_url is None
    with pytest.raises(UsageError, match="no model endpoint for support: set OPENAI_BASE_URL"):
        endpoint_for(settings, "support")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert endpoint_for(load_settings(project_dir=tmp_path), "support").base_url == (
        "https://api.openai.com/v1")


def test_prices_by_model_with_dated_snapshots() -> None:
    prices = {"gpt-4o-mini": (0.15, 0.60)}
    assert price_of(prices, "gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert price_of(prices, "unknown", "gpt-4o-mini") == (0.15, 0.60)
    assert price_of(prices, "unknown", None) is None
    assert cost_usd((0.15, 0.60), 1_000_000, 500_000) == pytest.approx(0.45)
    assert cost_usd(None, 10, 10) is None and cost_usd((1, 1), None, 3) is None


def test_a_base_url_with_credentials_is_refused_naming_its_source_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flywheel.toml").write_text(
        '[eval_endpoints.support]\nbase_url = "http://me:hunter2@127.0.0.1:9/v1"\n'
        'api_key_env = "SUPPORT_KEY"\n')
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:99999/v1")
    settings = load_settings(project_dir=tmp_path)
    with pytest.raises(NoEndpointError) as refused:
        endpoint_for(settings, "support")
    assert str(refused.value).startswith(
        "flywheel.toml [eval_endpoints.support] base_url holds credentials "
        "(http://***@127.0.0.1:9/v1)")
    assert "hunter2" not in str(refused.value) and "SUPPORT_KEY" in str(refused.value)
    with pytest.raises(NoEndpointError, match="OPENAI_BASE_URL is not a valid endpoint URL"):
        endpoint_for(settings, "summarizer")


def test_the_nightly_skips_the_evals_of_a_bad_base_url_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flywheel.tasks.evals._nightly import candidate_jobs
    from tests.conftest import REPO
    from tests.support.serving_support import project

    monkeypatch.setenv("OPENAI_BASE_URL", "http://user:hunter2@127.0.0.1:9/v1")
    settings = project(tmp_path)  # support has production and candidate labels
    shutil.copytree(REPO / "evalsets", tmp_path / "evalsets")
    plan = candidate_jobs(load_settings(db=settings.db_path, project_dir=tmp_path))
    assert plan.jobs == []
    reasons = {s["prompt"]: s["reason"] for s in plan.skipped}
    assert reasons["support"].startswith("OPENAI_BASE_URL holds credentials (http://***@")
    assert all("hunter2" not in r for r in reasons.values())
