"""Monitoring controls the family-wise false-alarm rate of a night (issue 21, item 7): the Holm
correction against a seeded simulation of null nights, and every planted anomaly of the sample
data still raising its alert through the real monitoring over a real DuckDB store.
bench/monitoring_false_alarms.py measures the rate on 200 unperturbed demo-like nights."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from flywheel.tasks.commands import sync_prompt_files
from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.monitor import run_monitoring
from flywheel.tasks.monitor._rules import ONE_SIDED_ALPHA, family_adjusted
from flywheel.tasks.sample_data import SampleSpec, write_sample_data

pytestmark = pytest.mark.unit


def test_a_null_night_of_80_tests_alarms_at_the_rule_level_not_80_times_it() -> None:
    """5,000 simulated nights of 80 independent null tests (uniform p-values): uncorrected,
    about 1 − (1 − 0.00135)^80 ≈ 10% of nights raise an alarm; Holm-adjusted, at most the
    level (binomial noise allowed)."""
    rng = np.random.default_rng(21)
    nights = rng.uniform(size=(5_000, 80))
    per_test = float(np.mean((nights < ONE_SIDED_ALPHA).any(axis=1)))
    family = float(np.mean([min(family_adjusted(list(n))) < ONE_SIDED_ALPHA for n in nights]))
    assert per_test == pytest.approx(1 - (1 - ONE_SIDED_ALPHA) ** 80, abs=0.01)
    assert family <= ONE_SIDED_ALPHA + 3 * np.sqrt(ONE_SIDED_ALPHA / 5_000)
    assert family_adjusted([0.2, float("nan"), 1e-9]) == pytest.approx([0.4, 1.0, 3e-9])


@pytest.mark.slow
def test_every_planted_anomaly_still_raises_its_alert(tmp_path: Path) -> None:
    """The demo's --plant-anomalies (its default 3,000 users, 10 days): the latency regression
    (×2 from day 7) and the input-length shift (from day 8) each alert on their first night, on
    their versions, after the night's family-wise correction."""
    spec = SampleSpec(days=10, users=3000, latency_regression_day=7, input_shift_day=8)
    truth = write_sample_data(tmp_path, spec)
    settings = load_settings(db=tmp_path / "flywheel.duckdb", project_dir=tmp_path)
    sync_prompt_files(settings, str(tmp_path / "prompts"), None, None)
    ingest_paths(settings, [settings.landing])
    for anomaly in truth["anomalies"]:
        night = spec.start + timedelta(days=(spec.latency_regression_day
                                             if anomaly["kind"] == "latency_regression"
                                             else spec.input_shift_day))
        alerts = run_monitoring(settings, night).alerts
        kind, metrics = (("drift", {"latency_p50_ms", "latency_p95_ms"})
                         if anomaly["kind"] == "latency_regression"
                         else ("psi", {"input_tokens_psi"}))
        for prompt_hash in anomaly["prompt_hashes"]:
            hits = [a for a in alerts if a.kind == kind and a.prompt_hash == prompt_hash
                    and a.metric in metrics]
            assert hits, (anomaly["kind"], prompt_hash[:12], [a.message for a in alerts])
