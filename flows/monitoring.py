"""The ``monitoring`` flow: one night's production metrics per prompt version, drift alerts, a
Prefect artifact and (when configured) a webhook message. Alerts are findings, not failures: the
flow fails only when it cannot compute; a webhook that fails is noted, never raised."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flywheel.tasks.config import load_settings
from flywheel.tasks.monitor import Alert, alert_text, post_text, run_monitoring


@task(name="monitor-night")
def monitor_night(run_date: str, db_path: str, project_dir: str | None) -> dict[str, Any]:
    """Compute, judge and persist the night's monitoring; returns its summary."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    return run_monitoring(settings, date.fromisoformat(run_date)).summary()


@task(name="send-alerts")
def send_alerts(url: str, text: str, timeout_s: float) -> dict[str, Any]:
    """POST the alerts to the webhook; never raises."""
    return post_text(url, text, timeout_s=timeout_s)


def _alerts(summary: dict[str, Any]) -> list[Alert]:
    return [Alert(**{**a, "run_date": date.fromisoformat(a["run_date"])}) for a in summary["alert_list"]]


@flow(name="monitoring")
def monitoring_flow(
    run_date: str, db_path: str | None = None, project_dir: str | None = None
) -> dict[str, Any]:
    """Monitor production for the night of ``run_date`` (YYYY-MM-DD)."""
    settings = load_settings(db=db_path, project_dir=project_dir)
    night = date.fromisoformat(run_date)
    summary = monitor_night(night.isoformat(), str(settings.db_path), str(settings.project_dir))
    alerts = _alerts(summary)
    if alerts:
        create_table_artifact(
            key="monitoring-alerts",
            table=[{"severity": a.severity, "kind": a.kind, "metric": a.metric,
                    "message": a.message} for a in alerts],
            description=f"Monitoring alerts of the night of {night}",
        )
    else:
        create_markdown_artifact(
            key="monitoring-alerts",
            markdown=f"# Monitoring {night}\n\nNo alerts over {summary['versions']} prompt "
                     f"versions and {summary['requests']} requests.",
            description=f"Monitoring alerts of the night of {night}",
        )
    summary["webhook"] = "not configured"
    if alerts and settings.alert_webhook_url:
        sent = send_alerts(settings.alert_webhook_url, alert_text(night, alerts),
                           settings.alert_webhook_timeout_s)
        summary["webhook"] = "sent" if sent["sent"] else f"failed: {sent['error']}"
        if not sent["sent"]:
            get_run_logger().warning("alert webhook failed (the night goes on): %s", sent["error"])
    elif settings.alert_webhook_url:
        summary["webhook"] = "nothing to send"
    return summary
