"""The alert webhook against a real loopback HTTP receiver."""

from __future__ import annotations

from datetime import date

import pytest

from flywheel.tasks.monitor import Alert, alert_text, post_text
from tests.support.webhook_receiver import closed_port_url, webhook_receiver

pytestmark = pytest.mark.unit


def _alert(i: int, severity: str = "critical") -> Alert:
    return Alert(run_date=date(2026, 11, 5), prompt_name="support", prompt_hash="ab" * 32,
                 model="gpt-4o-mini", kind="drift", severity=severity, metric="latency_p95_ms",
                 value=2000.0 + i, baseline=1000.0, limit_low=800.0, limit_high=1200.0,
                 message=f"support abababababab on gpt-4o-mini: latency alert {i} <b>&")


def test_a_slack_compatible_text_message_is_posted() -> None:
    text = alert_text(date(2026, 11, 5), [_alert(1, "warning"), _alert(2)])
    with webhook_receiver() as receiver:
        result = post_text(receiver.url, text, timeout_s=5)
    assert result == {"sent": True, "status": 200}
    assert receiver.bodies == [{"text": text}]
    assert receiver.headers[0]["Content-Type"].startswith("application/json")
    lines = text.splitlines()
    assert lines[0] == "flywheel monitoring 2026-11-05: 2 alert(s), 1 critical"
    assert lines[1].startswith("• [critical]") and lines[1].endswith("&lt;b&gt;&amp;")  # Slack escaping


def test_a_long_list_is_cut_with_a_count_of_the_rest() -> None:
    text = alert_text(date(2026, 11, 5), [_alert(i) for i in range(25)])
    assert text.splitlines()[-1] == "… and 5 more"
    assert len(text.splitlines()) == 1 + 20 + 1


def test_an_error_status_is_retried_then_reported_without_raising() -> None:
    with webhook_receiver(status=500) as receiver:
        result = post_text(receiver.url, "hello", timeout_s=5)
    assert result["sent"] is False
    assert result["error"].startswith("HTTP 500 from http://127.0.0.1:")
    assert "secret" not in result["error"], "the webhook path is its secret: never in messages"
    assert len(receiver.bodies) == 2


def test_an_unreachable_or_non_http_url_is_reported_without_raising() -> None:
    refused = post_text(closed_port_url(), "hello", timeout_s=2)
    assert refused["sent"] is False and "unreachable" in refused["error"]
    assert post_text("file:///etc/passwd", "hello")["sent"] is False
