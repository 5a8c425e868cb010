"""The closed-loop demo's application: each day's traffic generated *after* the previous night,
through the real application path, so that what a night decides changes the next day.

A simulated application (one per demo) for each request of the day:

1. chooses the version with flywheel's serving client (:class:`~flywheel.serving.Router` on the
   ``serving.json`` the night wrote): ``support`` by its production label (a promotion ramp
   splits the users), ``summarizer`` through the ``summary-length`` experiment;
2. renders it, and asks the demo model over loopback HTTP with the ``openai`` client (the
   client's ``post``, as the evals call it); identical requests (the same version and the same
   messages) are answered once for the whole demo, as a response cache would: the demo model
   is deterministic, so only prompts not seen before go over the wire;
3. logs the request and the simulated user's feedback with flywheel's
   :class:`~flywheel.serving.RequestLogger` into ``landing/<day>/``.

The users (docs/optimize.md, "The closed-loop demo"): Poisson(λ_u) requests a day, λ_u ~
Gamma(2, 0.6), 60% support questions; a support answer is *right* when it contains the policy
bank's corrected answer for the question (``_content.py``). Thumbs on 25% of answers, up with
probability ``p · m_u`` (p = 0.85 right, 0.35 wrong; m_u ~ U(0.6, 1.4)); a rating on 6%
(mean 4.2 right, 2.6 wrong); a correction — the bank's corrected answer — after 10% of the
thumbs-downs of a wrong answer and 1% of the other wrong ones. Summaries keep the sample data's
per-arm rates. Latency is log-normal around the arm's median (it does not depend on the prompt);
1% of calls fail with an error and get no feedback.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from flywheel.tasks.sample_data._generate import (
    ARMS,
    ERRORS,
    _anomalies,
    _content,
    _load_prompts,
    _pasted_log,
)
from flywheel.tasks.sample_data._spec import SampleSpec
from flywheel.tasks.serving import Choice, RequestLogger, Router

P_UP = {True: 0.85, False: 0.35}
RATING = {True: 4.2, False: 2.6}
CORRECTION_AFTER_DOWN, CORRECTION_OTHERWISE = 0.10, 0.01
SUMMARY_ARM = {a["file"]: a for a in ARMS["summary-length"].values()}
SUPPORT_LATENCY_MS = 800.0


@dataclass
class DayStats:
    """What one day of the closed loop logged, per version (hash) of each prompt."""

    day: str
    requests: int = 0
    model_calls: int = 0  # distinct prompts sent over HTTP
    by_version: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, choice: Choice, right: bool | None, thumb: bool | None) -> None:
        key = f"{choice.prompt_name}:{choice.hash}"
        row = self.by_version.setdefault(key, {"requests": 0, "right": 0, "thumbs": 0, "up": 0})
        row["requests"] += 1
        row["right"] += int(bool(right))
        if thumb is not None:
            row["thumbs"] += 1
            row["up"] += int(thumb)


class ClosedLoopApp:
    """The simulated application and its users (see the module docstring)."""

    def __init__(self, workdir: Path, spec: SampleSpec, base_url: str) -> None:
        import openai  # half a second: only the demo pays for it

        self.workdir, self.spec = workdir, spec
        self.router = Router.load(workdir / "serving.json")
        self.client = openai.OpenAI(base_url=base_url, api_key="flywheel-demo", max_retries=3)
        rng = np.random.default_rng(spec.seed)
        self.users = [f"user-{i:05d}" for i in range(spec.users)]
        self.activity = rng.gamma(2.0, 0.6, size=spec.users)
        self.taste = rng.uniform(0.6, 1.4, size=spec.users)
        files = _load_prompts(workdir / "prompts")
        slow = files.get(spec.latency_regression_prompt)
        self.slow_hash = slow.hash if slow and spec.latency_regression_day is not None else None
        self.file_of = {p.hash: name for name, p in files.items()}
        self.memo: dict[str, tuple[str, int, int]] = {}

    def run_day(self, day: int) -> DayStats:
        """Generate, serve and log day ``day`` (0-based) with the snapshot as it is now."""
        self.router.reload()
        rng = np.random.default_rng([self.spec.seed, day])
        start = datetime.combine(self.spec.start + timedelta(days=day), datetime.min.time(), UTC)
        stats = DayStats(day=(self.spec.start + timedelta(days=day)).isoformat())
        calls = len(self.memo)
        counts = rng.poisson(self.activity)
        with RequestLogger(self.workdir / "landing" / stats.day) as logger:
            for u in np.flatnonzero(counts):
                for n in range(int(counts[u])):
                    ts = start + timedelta(seconds=float(rng.uniform(0, 86400)))
                    self._one(rng, logger, self.memo, stats, int(u), ts, f"{day}:{u}:{n}", day)
        stats.model_calls = len(self.memo) - calls
        return stats

    def _answer(self, memo: dict[str, tuple[str, int, int]], choice: Choice,
                messages: list[dict[str, str]]) -> tuple[str, int, int]:
        key = json.dumps([choice.hash, messages], ensure_ascii=False)
        if key not in memo:
            from openai.types.chat import ChatCompletion

            reply = self.client.post("/chat/completions", cast_to=ChatCompletion,
                                     options={"security": {"bearer_auth": True}},
                                     body={"model": choice.model, "messages": messages,
                                           **choice.params})
            usage = reply.usage
            memo[key] = (reply.choices[0].message.content or "",
                         usage.prompt_tokens if usage else 0,
                         usage.completion_tokens if usage else 0)
        return memo[key]

    def _one(self, rng: np.random.Generator, logger: RequestLogger,
             memo: dict[str, tuple[str, int, int]], stats: DayStats, u: int, ts: datetime,
             key: str, day: int) -> None:
        user = self.users[u]
        support = rng.random() < 0.6
        variables, _, corrected = _content(rng, "support" if support else "summarizer", "control")
        choice = self.router.choose("support" if support else "summary-length", user)
        if not support and self.spec.input_shift_day is not None and day >= self.spec.input_shift_day:
            variables["text"] += "\n\n" + _pasted_log(int(rng.integers(1 << 30)))
        messages = self.router.render(choice, variables)
        error = ERRORS[int(rng.integers(len(ERRORS)))] if rng.random() < 0.01 else None
        output, prompt_tokens, completion_tokens = ("", 0, 0) if error else self._answer(
            memo, choice, messages)
        arm = SUMMARY_ARM.get(self.file_of.get(choice.hash, ""), {})
        median = SUPPORT_LATENCY_MS if support else arm.get("latency", 650)
        latency = float(rng.lognormal(np.log(median), 0.45))
        if choice.hash == self.slow_hash and day >= (self.spec.latency_regression_day or 0):
            latency *= self.spec.latency_regression_factor
        request_id = "req_" + hashlib.sha256(f"{self.spec.seed}:{key}".encode()).hexdigest()[:20]
        logged = messages if rng.random() < self.spec.messages_share else None
        logger.log_request(choice, user_id=user, input=variables, messages=logged,
                           output=None if error else output, error=error,
                           latency_ms=round(latency, 1), prompt_tokens=prompt_tokens,
                           completion_tokens=completion_tokens, request_id=request_id,
                           timestamp=ts, metadata={"app": "flywheel-demo closed loop"})
        stats.requests += 1
        if error:
            stats.count(choice, None, None)
            return
        right = corrected in output if support else None
        thumb = self._feedback(rng, logger, request_id, user, ts, right, arm, corrected)
        stats.count(choice, right, thumb)

    def _feedback(self, rng: np.random.Generator, logger: RequestLogger, request_id: str,
                  user: str, ts: datetime, right: bool | None, arm: dict[str, Any],
                  corrected: str) -> bool | None:
        taste = float(self.taste[int(user.rsplit("-", 1)[1])])
        p_up = P_UP[right] if right is not None else arm.get("p_up", 0.6)
        mean = RATING[right] if right is not None else arm.get("rating", 3.7)

        def add(kind: str, **fields: Any) -> None:
            fid = "fb_" + hashlib.sha256(f"{request_id}:{kind}".encode()).hexdigest()[:20]
            when = ts + timedelta(seconds=float(rng.exponential(600)))
            logger.log_feedback(request_id, kind, user_id=user, feedback_id=fid, timestamp=when,
                                **fields)

        thumb = None
        if rng.random() < 0.25:
            thumb = bool(rng.random() < min(1.0, p_up * taste))
            add("thumbs", value=int(thumb))
        if rng.random() < 0.06:
            rating = int(np.clip(np.rint(rng.normal(mean + 1.5 * (taste - 1), 0.9)), 1, 5))
            add("rating", value=rating)
        wrong = right is False or (right is None and thumb is False)
        p_fix = CORRECTION_AFTER_DOWN if thumb is False else CORRECTION_OTHERWISE
        if wrong and rng.random() < p_fix:
            add("correction", corrected_output=corrected)
        return thumb


def loop_truth(spec: SampleSpec, days: list[DayStats], workdir: Path) -> dict[str, Any]:
    """TRUTH.json of a closed-loop demo: the rules the users and the application follow, and
    what each day logged per version."""
    return {"closed_loop": True, "spec": {k: str(v) for k, v in asdict(spec).items()},
            "users": {"p_up": {"right": P_UP[True], "wrong": P_UP[False]},
                      "rating_mean": {"right": RATING[True], "wrong": RATING[False]},
                      "correction": {"after_thumbs_down": CORRECTION_AFTER_DOWN,
                                     "otherwise_when_wrong": CORRECTION_OTHERWISE}},
            "days": [asdict(d) for d in days],
            "anomalies": _anomalies(spec, _load_prompts(workdir / "prompts")),
            "malformed_lines": [],
            "files": []}
