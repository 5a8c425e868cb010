"""Scorers for every assertion type of docs/contracts.md, "Eval sets". A scorer returns a pass and a 0–1 score, or raises
:class:`ScorerError`: a scorer that could not decide is an error, never a failure.

* ``equals``: the output, stripped of surrounding white space, equals the value.
* ``contains`` / ``icontains``: the value is a substring (``icontains``: after casefolding).
* ``regex``: ``re.search`` finds the pattern.
* ``is-json``: the stripped output parses as JSON (and, with a value, matches it as a schema).
* ``json-schema``: the output parses as JSON and validates against the schema (``jsonschema``).
* ``similar``: rapidfuzz similarity (``ratio`` by default, or ``metric``) / 100 between the
  casefolded, white-space-collapsed output and the value (or the case's reference); passes at
  ``threshold`` (default 0.8).
* ``llm-rubric``: the judge's score; passes at ``threshold`` (default 0.5).
* ``python``: ``module:function`` from the project folder, called as ``function(output, record)``
  (``record``: the case's JSON object); returns a bool, a 0–1 number (passes at ``threshold``,
  default 0.5) or ``{"pass": bool, "score": number, "reason": str}``.

Binary checks score 1 or 0. A case passes when all its assertions pass; its score is their mean.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from rapidfuzz import fuzz

from flywheel.tasks.errors import UsageError
from flywheel.tasks.evals._evalset import Assertion, EvalCase
from flywheel.tasks.evals._judge import Verdict

DEFAULT_THRESHOLDS = {"similar": 0.8, "llm-rubric": 0.5, "python": 0.5}


class ScorerError(Exception):
    """A scorer could not score (bad JSON from the judge, an exception in a python check...)."""


@dataclass(frozen=True)
class AssertionResult:
    """The outcome of one assertion on one output."""

    type: str
    passed: bool
    score: float
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (spelled out: ``dataclasses.asdict`` was a third of scoring's time)."""
        return {"type": self.type, "passed": self.passed, "score": self.score,
                "reason": self.reason}


@dataclass(frozen=True)
class CaseScore:
    """A case's outcome on one output: all assertions passed, mean score, each assertion."""

    passed: bool
    score: float
    assertions: tuple[AssertionResult, ...]


# Looks up the judge's verdict for (rubric, output, case); raises ScorerError when it failed.
JudgeLookup = Callable[[str, str, EvalCase], Verdict]


class PythonChecks:
    """Loads ``module:function`` checks from files of the project folder (``a.b`` is
    ``<project>/a/b.py`` or ``<project>/a/b/__init__.py``), without touching ``sys.path``."""

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self._functions: dict[str, Callable[..., Any]] = {}

    def __call__(self, ref: str) -> Callable[..., Any]:
        """The function named by ``ref``; :class:`UsageError` when it cannot be found."""
        if ref in self._functions:
            return self._functions[ref]
        module_name, _, function_name = ref.partition(":")
        relative = Path(*module_name.split("."))
        candidates = [self.project_dir / relative.with_suffix(".py"),
                      self.project_dir / relative / "__init__.py"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise UsageError(f"python check {ref!r}: no {candidates[0]} in the project folder")
        unique = "flywheel_check_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None:
            raise UsageError(f"python check {ref!r}: cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise UsageError(f"python check {ref!r}: importing {path} failed: {exc}") from None
        function = getattr(module, function_name, None)
        if not callable(function):
            raise UsageError(f"python check {ref!r}: {path} has no function {function_name}")
        self._functions[ref] = function
        return function


def _normalize(text: str) -> str:
    return " ".join(text.casefold().split())


def _parse_json(output: str) -> Any:
    try:
        return json.loads(output.strip())
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None


def _binary(kind: str, passed: bool, reason: str = "") -> AssertionResult:
    return AssertionResult(kind, passed, 1.0 if passed else 0.0, reason)


def _threshold(assertion: Assertion) -> float:
    return assertion.threshold if assertion.threshold is not None else DEFAULT_THRESHOLDS[
        assertion.type]


def _schema_check(kind: str, output: str, schema: dict[str, Any] | None) -> AssertionResult:
    try:
        document = _parse_json(output)
    except ValueError as exc:
        return _binary(kind, False, str(exc))
    if schema is None:
        return _binary(kind, True)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        return _binary(kind, False, f"{where}: {errors[0].message}")
    return _binary(kind, True)


def _python(assertion: Assertion, output: str, case: EvalCase,
            checks: Callable[[str], Callable[..., Any]]) -> AssertionResult:
    function = checks(assertion.value)
    try:
        value = function(output, case.record)
    except Exception as exc:
        raise ScorerError(
            f"python check {assertion.value} raised {type(exc).__name__}: {exc}") from None
    reason = ""
    if isinstance(value, dict):
        reason = str(value.get("reason", ""))
        if "score" in value:
            value = value["score"]
        elif "pass" in value:
            value = bool(value["pass"])
        else:
            raise ScorerError(f"python check {assertion.value} returned a dict without pass/score")
    if isinstance(value, bool):
        return _binary("python", value, reason)
    if isinstance(value, int | float) and 0 <= value <= 1:
        return AssertionResult("python", value >= _threshold(assertion), float(value), reason)
    raise ScorerError(
        f"python check {assertion.value} returned {value!r}: expected a bool or a 0–1 number")


def score_assertion(
    assertion: Assertion, output: str, case: EvalCase, *, judge: JudgeLookup,
    checks: Callable[[str], Callable[..., Any]],
) -> AssertionResult:
    """Score one assertion on one output (see the module docstring for each type)."""
    kind, value = assertion.type, assertion.value
    if kind == "equals":
        return _binary(kind, output.strip() == value.strip())
    if kind == "contains":
        return _binary(kind, value in output)
    if kind == "icontains":
        return _binary(kind, value.casefold() in output.casefold())
    if kind == "regex":
        return _binary(kind, re.search(value, output) is not None)
    if kind in ("is-json", "json-schema"):
        return _schema_check(kind, output, value)
    if kind == "similar":
        target = value if value is not None else case.reference or ""
        metric = getattr(fuzz, assertion.metric or "ratio")
        similarity = float(metric(_normalize(output), _normalize(target))) / 100
        return AssertionResult(kind, similarity >= _threshold(assertion), similarity)
    if kind == "llm-rubric":
        verdict = judge(value, output, case)
        return AssertionResult(kind, verdict.score >= _threshold(assertion), verdict.score,
                               verdict.reason)
    if kind == "python":
        return _python(assertion, output, case, checks)
    raise ScorerError(f"no scorer for assertion type {kind!r}")


def score_case(
    case: EvalCase, output: str, *, judge: JudgeLookup,
    checks: Callable[[str], Callable[..., Any]],
) -> CaseScore:
    """All of a case's assertions on one output; :class:`ScorerError` if any could not score."""
    results = tuple(
        score_assertion(a, output, case, judge=judge, checks=checks) for a in case.asserts
    )
    return CaseScore(
        passed=all(r.passed for r in results),
        score=sum(r.score for r in results) / len(results),
        assertions=results,
    )
