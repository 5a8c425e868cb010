"""Production monitoring: nightly metrics per prompt version, drift against a trailing baseline,
length-distribution shift (PSI), unknown prompt hashes and new models; alerts persisted and
optionally sent to a webhook. Rules and formulas: docs/monitoring.md."""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "Alert": "flywheel.tasks.monitor._compute",
    "MonitorResult": "flywheel.tasks.monitor._compute",
    "alerts_for_date": "flywheel.tasks.monitor._compute",
    "metrics_between": "flywheel.tasks.monitor._compute",
    "metrics_for_date": "flywheel.tasks.monitor._compute",
    "run_monitoring": "flywheel.tasks.monitor._compute",
    "alert_text": "flywheel.tasks.monitor._webhook",
    "post_text": "flywheel.tasks.monitor._webhook",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
