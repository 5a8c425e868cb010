"""Each metric is declared once (``tasks/ab/_metrics.py``) and its SQL derives from that: the
per-user and per-arm sums are generated, the report's window statement holds the same text, and
adding a metric is one declaration that flows through to the per-arm statistics and the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from flywheel.tasks.ab import (
    METRICS,
    Metric,
    Thresholds,
    UserSum,
    aggregate,
    analyze_experiment,
    load_experiments,
    ratio,
    ratio_metrics,
)
from flywheel.tasks.ab._metric_sql import (
    ARM_SUMS,
    USER_SUMS,
    USER_TOTALS,
    arm_sums_select,
    metric_statement,
    user_sums,
    user_sums_select,
)
from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect, sql_text
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.serving.assignment import assign_variant
from tests.conftest import request_record

pytestmark = pytest.mark.unit

# the ratio metrics sql/reports/window_user_sums.sql carries (those the promotion report shows)
WINDOW_METRICS = ("thumbs_up_rate", "mean_rating", "correction_rate", "error_rate", "latency_ms",
                  "cost_per_request")


def test_every_placeholder_is_filled() -> None:
    for name in ("ab/night_rows_compute", "ab/user_arms", "ab/user_pre", "ab/arm_metric_stats"):
        assert any(p in sql_text(name) for p in (USER_SUMS, USER_TOTALS, ARM_SUMS))
        assert "/*@" not in metric_statement(name, ratio_metrics())


def test_the_window_statement_holds_the_generated_sums_of_its_metrics() -> None:
    metrics = [METRICS[name] for name in WINDOW_METRICS]
    text = sql_text("reports/window_user_sums")
    assert user_sums_select(metrics, indent="           ") in text
    assert arm_sums_select(metrics, post="u", pre=None) in text


def test_a_per_user_sum_is_declared_once_under_its_name() -> None:
    names = [s.name for s in user_sums(ratio_metrics())]
    assert len(names) == len(set(names))
    clash = ratio("clash", True, "", UserSum("requests", "count(r.latency_ms)"), UserSum("x", "1"))
    with pytest.raises(ValueError, match="requests"):
        user_sums([*ratio_metrics(), clash])


def test_a_metric_declares_what_its_kind_needs() -> None:
    with pytest.raises(ValueError, match="numerator"):
        Metric("half", "ratio", True, "no denominator", numerator=UserSum("a", "count(*)"))
    with pytest.raises(ValueError, match="level"):
        Metric("p90", "quantile", True, "no level")


EXPERIMENT = """\
name: tokens
variants: {control: "p@production", b: "p:abcdef12"}
start: 2026-11-02
primary_metric: thumbs_up_rate
"""
PROMPT_TOKENS = ratio("prompt_tokens_per_request", True, "prompt tokens / requests with them",
                      UserSum("prompt_tokens_sum", "coalesce(sum(r.prompt_tokens), 0)"),
                      UserSum("prompt_tokens_n", "count(r.prompt_tokens)"))


def test_adding_a_metric_is_one_declaration(
    tmp_path: Path, write_jsonl: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "tokens.yaml").write_text(EXPERIMENT)
    requests, expected = [], {"control": [0, 0, 0, 0], "b": [0, 0, 0, 0]}  # n, Σm, Σd, Σm²
    for i in range(300):
        user = f"u{i}"
        arm = assign_variant("tokens", user, ["control", "b"])
        tokens = [100 + i % 7 * (2 if arm == "b" else 1), 90 + i % 5]
        for k, prompt_tokens in enumerate(tokens):
            requests.append(request_record(f"{user}-{k}", user_id=user, experiment="tokens",
                                           variant=arm, prompt_tokens=prompt_tokens,
                                           timestamp=f"2026-11-03T1{k}:00:00Z"))
        n, m, d, m2 = expected[arm]
        expected[arm] = [n + 1, m + sum(tokens), d + 2, m2 + sum(tokens) ** 2]
    write_jsonl(tmp_path / "landing/requests-1.jsonl", requests)
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    ingest_paths(settings, [tmp_path / "landing"])
    experiments = load_experiments(settings.dir("experiments"))

    monkeypatch.setitem(METRICS, PROMPT_TOKENS.name, PROMPT_TOKENS)
    with connect(settings.db_path) as con:
        data = aggregate(con, experiments, None, cuped_lookback=timedelta(days=14))
    for arm in ("control", "b"):
        sums = data.experiments[0].arms[arm].ratio[PROMPT_TOKENS.name]
        n, m, d, m2 = expected[arm]
        assert (sums["n"], sums["m_sum"], sums["d_sum"], sums["m_sum_squares"]) == (n, m, d, m2)
    report = analyze_experiment(data.experiments[0], Thresholds(), None)
    row = next(r for r in report["metrics"] if r["metric"] == PROMPT_TOKENS.name)
    assert row["error"] is None and row["estimate"] > 0
    assert row["treatment_mean"] == pytest.approx(expected["b"][1] / expected["b"][2])
