"""The eval-leakage guard: no exported example may be (nearly) an eval-set case.

An eval case (docs/contracts.md, "Eval sets") is compared through the text of its ``vars`` (string values in key
order, :func:`~flywheel.tasks.export._text.vars_text`), redacted and normalized like the examples. An
example leaks when one of its texts (its last user message, and the text of its logged input)
matches a case:

* ``exact``: equal normalized hashes;
* ``near``: rapidfuzz ``fuzz.ratio`` (normalized Indel similarity, 0–100) >= the threshold
  (default 90), or, when both texts have >= 20 characters, ``fuzz.partial_ratio`` >= the
  threshold: the case text appears almost verbatim inside the user message (a rendered template
  around it) or the other way round.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from flywheel.tasks._memo import TextMemo
from flywheel.tasks.errors import UsageError
from flywheel.tasks.export._text import normalize, sha256_hex, vars_text
from flywheel.tasks.redact import Redactor

CONTAINMENT_MIN_CHARS = 20


@dataclass(frozen=True)
class EvalCase:
    """One eval-set case: where it is and its template variables."""

    file: str
    id: str
    vars: dict[str, Any]

    @property
    def ref(self) -> str:
        """``file#id``, as counted in manifests."""
        return f"{self.file}#{self.id}"


def read_eval_cases(folder: Path) -> list[EvalCase]:
    """Every case of every ``*.jsonl`` eval set under ``folder`` (none if it does not exist).

    A deliberately small reader of the "Eval sets" format, kept in this one function so that it can be
    replaced by the project's eval-set loader (tasks/evals/) without touching the guard.
    """
    if not folder.is_dir():
        return []
    cases: list[EvalCase] = []
    for path in sorted(folder.rglob("*.jsonl")):
        name = str(path.relative_to(folder))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict) or "id" not in record:
                raise UsageError(f"{path}:{number}: an eval case needs an `id`")
            variables = record.get("vars", {})
            if not isinstance(variables, dict):
                raise UsageError(f"{path}:{number}: `vars` must be an object")
            cases.append(EvalCase(name, str(record["id"]), variables))
    return cases


@dataclass(frozen=True)
class LeakMatch:
    """An example matched an eval case."""

    kind: str  # exact | near
    case: str  # file#id
    score: float


class LeakageGuard:
    """Answers "is this example an eval case?" for one set of eval cases."""

    def __init__(self, cases: Iterable[EvalCase], redactor: Redactor, threshold: float) -> None:
        """``threshold``: rapidfuzz similarity (0–100) from which two texts are the same case."""
        self.threshold = threshold
        self.cases: list[EvalCase] = []
        self.keys: list[str] = []
        for case in cases:
            key = normalize(redactor.redact(vars_text(case.vars)))
            if key:
                self.cases.append(case)
                self.keys.append(key)
        self._by_hash = {sha256_hex(k): i for i, k in enumerate(self.keys)}
        self._long = [i for i, k in enumerate(self.keys) if len(k) >= CONTAINMENT_MIN_CHARS]
        self._long_keys = [self.keys[i] for i in self._long]
        self._near = TextMemo(self._fuzzy)  # per normalized text

    def check(self, texts: Iterable[str | None]) -> LeakMatch | None:
        """The first eval case one of ``texts`` (already redacted) matches, or None."""
        if not self.keys:
            return None
        normalized = [normalize(t) for t in texts if t]
        normalized = [t for t in normalized if t]
        for text in normalized:
            index = self._by_hash.get(sha256_hex(text))
            if index is not None:
                return LeakMatch("exact", self.cases[index].ref, 100.0)
        for text in normalized:
            near = self._near(text)
            if near is not None:
                return near
        return None

    def _fuzzy(self, text: str) -> LeakMatch | None:
        best = process.extractOne(text, self.keys, scorer=fuzz.ratio, score_cutoff=self.threshold)
        if best is not None:
            return LeakMatch("near", self.cases[best[2]].ref, float(best[1]))
        if len(text) >= CONTAINMENT_MIN_CHARS and self._long_keys:
            best = process.extractOne(text, self._long_keys, scorer=fuzz.partial_ratio,
                                      score_cutoff=self.threshold)
            if best is not None:
                return LeakMatch("near", self.cases[self._long[best[2]]].ref, float(best[1]))
        return None
