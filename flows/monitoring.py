"""The ``monitoring`` flow and step: one night's production metrics per prompt version, drift
alerts, a Prefect artifact and (when configured) a webhook message. Alerts are findings, not
failures: the step fails only when it cannot compute; a webhook that fails is noted, never raised."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown, publish_table, warning
from flywheel.tasks.config import load_settings
from flywheel.tasks.monitor import Alert, alert_text, post_text, run_monitoring


def _publish_alerts(night: date, alerts: list[Alert], summary: dict[str, Any]) -> None:
    description = f"Monitoring alerts of the night of {night}"
    if alerts:
        publish_table("monitoring-alerts",
                      [{"severity": a.severity, "kind": a.kind, "metric": a.metric,
                        "message": a.message} for a in alerts], description)
    else:
        publish_markdown("monitoring-alerts",
                         f"# Monitoring {night}\n\nNo alerts over {summary['versions']} prompt "
                         f"versions and {summary['requests']} requests.", description)


def monitor_night(night: Night) -> dict[str, Any]:
    """Compute, judge and persist the night's monitoring; publish and send its alerts."""
    settings = night.settings
    outcome = run_monitoring(settings, night.run_date)
    summary = outcome.summary()
    alerts = list(outcome.alerts)
    _publish_alerts(night.run_date, alerts, summary)
    summary["webhook"] = "not configured"
    if alerts and settings.alert_webhook_url:
        sent = post_text(settings.alert_webhook_url, alert_text(night.run_date, alerts),
                         timeout_s=settings.alert_webhook_timeout_s)
        summary["webhook"] = "sent" if sent["sent"] else f"failed: {sent['error']}"
        if not sent["sent"]:
            warning("alert webhook failed (the night goes on): %s", sent["error"])
    elif settings.alert_webhook_url:
        summary["webhook"] = "nothing to send"
    return summary


@flow(name="monitoring")
def monitoring_flow(
    run_date: date, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """Monitor production for the night of ``run_date`` (YYYY-MM-DD)."""
    return monitor_night(Night.of(load_settings(db=db_path, project_dir=project_dir), run_date))
