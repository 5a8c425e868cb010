"""What sample data to generate (light: the command line reads its defaults at start-up)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class SampleSpec:
    """What to generate. Equal specs give byte-identical files."""

    days: int = 10
    users: int = 3000
    seed: int = 7
    start: date = date(2026, 11, 1)
    experiment_start_day: int = 2  # days of pre-period before the experiments start
    malformed: bool = True
    messages_share: float = 0.5  # share of requests that log their rendered messages
    # Planted production anomalies for the monitoring (off when None; they draw no random
    # numbers, so everything else stays byte-identical whether they are on or off).
    latency_regression_day: int | None = None  # from this day (0-based) one version is slower
    latency_regression_prompt: str = "support/v1.yaml"  # the version's prompt file
    latency_regression_factor: float = 2.0  # its latencies are multiplied by this
    input_shift_day: int | None = None  # from this day (0-based) one prompt's inputs get longer
    input_shift_prompt: str = "summarizer"  # the prompt name (every version of it)
