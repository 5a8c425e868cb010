"""Production monitoring: nightly metrics per prompt version, drift against a trailing baseline,
length-distribution shift (PSI), unknown prompt hashes and new models; alerts persisted and
optionally sent to a webhook. Rules and formulas: docs/monitoring.md."""

from flywheel.tasks.monitor.compute import (
    Alert,
    MonitorResult,
    alerts_for_date,
    metrics_between,
    metrics_for_date,
    run_monitoring,
)
from flywheel.tasks.monitor.webhook import alert_text, post_text

__all__ = [
    "Alert",
    "MonitorResult",
    "alert_text",
    "alerts_for_date",
    "metrics_between",
    "metrics_for_date",
    "post_text",
    "run_monitoring",
]
