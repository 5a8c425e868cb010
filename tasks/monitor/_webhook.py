"""Alerts to a chat channel: one Slack-compatible JSON POST (``{"text": ...}``) per night.

A webhook that fails (refused, times out, answers non-2xx) is retried once and then reported in
the result; it never raises, so it never fails the night.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from flywheel.tasks import escape

MAX_LINES = 20


def alert_text(run_date: date, alerts: Sequence[Any], report_hint: str | None = None) -> str:
    """The message: a headline and one line per alert (the most severe first, at most 20)."""
    critical = sum(a.severity == "critical" for a in alerts)
    lines = [f"flywheel monitoring {run_date}: {len(alerts)} alert(s), {critical} critical"]
    ordered = sorted(alerts, key=lambda a: a.severity != "critical")
    lines += [f"• [{a.severity}] {escape.slack(a.message)}" for a in ordered[:MAX_LINES]]
    if len(alerts) > MAX_LINES:
        lines.append(f"… and {len(alerts) - MAX_LINES} more")
    if report_hint:
        lines.append(escape.slack(report_hint))
    return "\n".join(lines)


def _redacted(url: str) -> str:
    """The URL without its path and query (a Slack webhook's path is its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def post_text(url: str, text: str, *, timeout_s: float = 5.0, attempts: int = 2) -> dict[str, Any]:
    """POST ``{"text": text}`` as JSON; returns ``{"sent": bool, "status"|"error": ...}``."""
    if urlsplit(url).scheme not in ("http", "https"):
        return {"sent": False, "error": f"webhook URL must be http(s), not {urlsplit(url).scheme!r}"}
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    error = ""
    for attempt in range(attempts):
        request = urllib.request.Request(
            url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "User-Agent": "flywheel-monitor"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return {"sent": True, "status": response.status}
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} from {_redacted(url)}"
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"{_redacted(url)} unreachable: {reason}"
        if attempt + 1 < attempts:
            time.sleep(0.5)
    return {"sent": False, "error": error}
