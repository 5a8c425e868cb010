"""The ``llm-rubric`` judge: the prompt it is sent and the validation of its JSON verdict."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

JUDGE_SYSTEM = (
    "You are an evaluation judge. Grade the OUTPUT of an assistant against the RUBRIC. "
    'Reply with only a JSON object: {"score": <a number from 0 to 1>, "reason": "<one '
    'sentence>"}. 1 means the rubric is fully met, 0 that it is not met at all.'
)
RETRY_NOTE = (
    'Your previous reply was not a valid verdict. Reply with only the JSON object {"score": '
    '<number from 0 to 1>, "reason": "<one sentence>"} and nothing else.'
)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass(frozen=True)
class Verdict:
    """A validated judge verdict."""

    score: float
    reason: str


class MalformedVerdict(ValueError):
    """The judge's reply is not a JSON object with a 0–1 ``score`` and a string ``reason``."""


def judge_messages(
    rubric: str, output: str, variables: dict[str, Any], *, retry_of: str | None = None
) -> list[dict[str, str]]:
    """The chat messages asking the judge to grade ``output``; ``retry_of`` is a bad reply."""
    user = (
        f"RUBRIC:\n{rubric}\n\nINPUT VARIABLES:\n"
        f"{json.dumps(variables, ensure_ascii=False, sort_keys=True)}\n\nOUTPUT:\n{output}"
    )
    messages = [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]
    if retry_of is not None:
        messages += [{"role": "assistant", "content": retry_of},
                     {"role": "user", "content": RETRY_NOTE}]
    return messages


def parse_verdict(text: str) -> Verdict:
    """Validate the judge's reply (a code fence around the JSON is tolerated)."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise MalformedVerdict(f"judge reply is not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise MalformedVerdict("judge reply is not a JSON object")
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise MalformedVerdict(f"judge score must be a number from 0 to 1, got {score!r}")
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise MalformedVerdict("judge reason must be a string")
    return Verdict(score=float(score), reason=reason)
