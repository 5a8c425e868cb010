"""A simulated application for the serving tests: real Router, real RequestLogger, real store.

Each simulated day every user asks the application a few times per subject; the application
chooses a version with the Router over serving.json, renders it, "calls the model" (outcomes
drawn from a seeded generator, by version hash: error rate, latency, thumbs-up rate), and logs
the request and any thumbs with the RequestLogger. Each night runs the real pipeline: ingest,
A/B analysis, the rollout step, a new serving snapshot, and the router reloads it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from flywheel.tasks.ab import run_nightly_allocation, run_nightly_analysis
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.registry._sync import folder_files, sync_paths
from flywheel.tasks.serving._client import Router
from flywheel.tasks.serving._logger import RequestLogger
from flywheel.tasks.serving._snapshot import write_snapshot
from flywheel.tasks.serving.rollout import advance_rollouts
from tests.conftest import REPO

FIRST_DAY = date(2026, 11, 1)
# full hashes of the example prompts (prompts/)
SUPPORT_V1 = "70f434f035b40e2d82b8a86fb69a0b58d4d8bc93f84c9ed1a68927cfaf897e14"
SUPPORT_V2 = "4f0cb83d1c0850ea22cef09550b3015cb941c10776da265e34e69f49f8ebcd02"
SUMMARIZER_V1 = "c770c3e82d2cc3b3868b709b89a4e9ea698bae6f886953220fd64d44168c98f5"
SUMMARIZER_V2 = "4e87706da0845e73d260c63c24d97942aacdf00ee4db66be6b968df6c672fd06"
SUMMARIZER_V3 = "6c30fe86e60cbe68f5271e95be5c4c2d848d10eaf8280ee0435ccc1e1820a567"
VARIABLES = {"support": {"question": "How do I get a refund?"},
             "summarizer": {"text": "The dashboard times out. Users cannot log in since 9am."}}


@dataclass
class Outcome:
    """How a version behaves when called: error rate, median latency (ms), thumbs-up rate."""

    error_rate: float = 0.03
    latency_ms: float = 800.0
    p_up: float = 0.6


def midnight(day: date) -> datetime:
    """00:00 UTC of ``day``."""
    return datetime.combine(day, datetime.min.time(), UTC)


def project(root: Path, experiments: dict[str, str] | None = None) -> Settings:
    """A project with the example prompts registered and the given experiment files."""
    shutil.copytree(REPO / "prompts", root / "prompts")
    folder = root / "experiments"
    folder.mkdir()
    for name, text in (experiments or {}).items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    settings = load_settings(db=root / "flywheel.duckdb", project_dir=root)
    with connect(settings.db_path) as con:
        sync_paths(con, folder_files(root / "prompts"), folder=root / "prompts", base=root)
    return settings


@dataclass
class Simulation:
    """A project, its application, and the days and nights that pass over it."""

    settings: Settings
    users: int = 2000
    requests_per_subject: int = 2
    subjects: tuple[str, ...] = ("support",)
    seed: int = 11
    fresh_users: bool = False  # True: each day's users are new ones (a bandit's new periods)
    day: date = FIRST_DAY
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # by version hash
    served: list[dict[str, Any]] = field(default_factory=list)  # per day: (subject, user) -> choice
    nights: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.landing = self.settings.landing
        self.logger = RequestLogger(self.landing, flush_interval_s=0.05)
        self.publish(reason="start")
        self.router = Router.load(self.settings.serving_file, clock=self.clock)

    def clock(self) -> float:
        """Simulated time for the router (noon of the current day)."""
        return (midnight(self.day) + timedelta(hours=12)).timestamp()

    def publish(self, reason: str) -> dict[str, Any]:
        """Write serving.json as of 00:00 of the current day."""
        return write_snapshot(self.settings, reason=reason, now=midnight(self.day))

    def outcome(self, version: str) -> Outcome:
        return self.outcomes.get(version, Outcome())

    def run_day(self, on_request: Callable[[str, str, Any], None] | None = None) -> None:
        """Serve one day of traffic through the router and log it."""
        start = midnight(self.day)
        served: dict[tuple[str, str], Any] = {}
        for u in range(self.users):
            user = f"d{self.day:%m%d}-u{u}" if self.fresh_users else f"user-{u:05d}"
            for subject in self.subjects:
                for k in range(self.requests_per_subject):
                    choice = self.router.choose(subject, user)
                    served[(subject, user)] = choice
                    messages = self.router.render(choice, VARIABLES[choice.prompt_name])
                    out = self.outcome(choice.hash)
                    failed = self.rng.random() < out.error_rate
                    ts = start + timedelta(seconds=float(self.rng.uniform(0, 86399)))
                    request_id = self.logger.log_request(
                        choice, user_id=user, input=VARIABLES[choice.prompt_name],
                        messages=messages, output=None if failed else "An answer.",
                        error="upstream timeout" if failed else None,
                        latency_ms=round(float(self.rng.lognormal(np.log(out.latency_ms), 0.3)), 1),
                        prompt_tokens=100, completion_tokens=0 if failed else 20,
                        timestamp=ts, request_id=f"{subject}-{self.day}-{user}-{k}")
                    if not failed and self.rng.random() < 0.4:
                        self.logger.log_feedback(
                            request_id, "thumbs", int(self.rng.random() < out.p_up),
                            user_id=user, timestamp=ts + timedelta(seconds=30))
                    if on_request:
                        on_request(subject, user, choice)
        self.served.append(served)

    def night(self) -> dict[str, Any]:
        """The night after the current day: ingest, A/B analysis, rollout, snapshot, reload."""
        assert self.logger.rotate()
        ingest = ingest_paths(self.settings, [self.landing])
        run_nightly_analysis(self.settings, self.day)
        run_nightly_allocation(self.settings, self.day)  # bandits' weights for the next day
        night = self.day
        rollout = advance_rollouts(self.settings, night, now=midnight(night) + timedelta(days=1, hours=3))
        self.day = night + timedelta(days=1)
        snapshot = self.publish(reason=f"nightly {night}")
        assert self.router.reload()
        result = {"date": night, "ingest": ingest, "rollout": rollout, "snapshot": snapshot}
        self.nights.append(result)
        return result

    def close(self) -> None:
        self.logger.close()
