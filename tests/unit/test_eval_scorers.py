"""Every §8 assertion type; scorer errors are errors, not failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rapidfuzz import fuzz

from flywheel.tasks.evals._evalset import Assertion, EvalCase
from flywheel.tasks.evals._judge import MalformedVerdict, Verdict, parse_verdict
from flywheel.tasks.evals._scorers import PythonChecks, ScorerError, score_assertion, score_case

CASE = EvalCase(id="c", vars={"q": "x"}, asserts=(), reference="Refunds take 14 days.",
                record={"id": "c", "vars": {"q": "x"}, "limit": 3})


def no_judge(rubric: str, output: str, case: EvalCase) -> Verdict:
    raise AssertionError("no judge expected")


def score(
    kind: str, output: str, value: Any = None, threshold: float | None = None,
    checks: Any = None, judge: Any = no_judge, metric: str | None = None,
) -> tuple[bool, float]:
    result = score_assertion(Assertion(kind, value, threshold, metric), output, CASE,
                             judge=judge, checks=checks or PythonChecks(Path(".")))
    return result.passed, result.score


@pytest.mark.parametrize("kind, output, value, expected", [
    ("equals", "  Yes\n", "Yes", True),
    ("equals", "Yes.", "Yes", False),
    ("contains", "Refund in 14 days", "14 days", True),
    ("contains", "Refund in 14 Days", "14 days", False),
    ("icontains", "Refund in 14 DAYS", "14 days", True),
    ("icontains", "Straße", "STRASSE", True),
    ("regex", "Order A-10293 noted", r"[A-C]-\d{5}", True),
    ("regex", "no order", r"[A-C]-\d{5}", False),
    ("is-json", ' {"a": 1} ', None, True),
    ("is-json", "```json\n{}\n```", None, False),
    ("json-schema", '{"summary": "x", "n": 2}',
     {"type": "object", "required": ["summary"], "properties": {"n": {"type": "integer"}}}, True),
    ("json-schema", '{"n": "two"}',
     {"type": "object", "required": ["summary"], "properties": {"n": {"type": "integer"}}}, False),
    ("json-schema", "not json", {"type": "object"}, False),
])
def test_binary_assertions(kind: str, output: str, value: Any, expected: bool) -> None:
    assert score(kind, output, value) == (expected, 1.0 if expected else 0.0)


def test_similar_uses_rapidfuzz_on_normalized_text_and_the_reference() -> None:
    passed, value = score("similar", "refunds take  14 DAYS.", threshold=0.9)
    assert passed and value == 1.0
    output = "Refunds take about two weeks."
    expected = fuzz.ratio(output.casefold(), CASE.reference.casefold()) / 100
    assert score("similar", output, threshold=0.8) == (expected >= 0.8, pytest.approx(expected))
    token_set = fuzz.token_set_ratio("b a", "a b c") / 100
    assert score("similar", "b a", "a b c", metric="token_set_ratio")[1] == pytest.approx(token_set)


def test_llm_rubric_passes_at_its_threshold() -> None:
    def judge(rubric: str, output: str, case: EvalCase) -> Verdict:
        assert (rubric, output, case.id) == ("Mentions the deadline", "out", "c")
        return Verdict(0.6, "partly")

    assert score("llm-rubric", "out", "Mentions the deadline", judge=judge) == (True, 0.6)
    assert score("llm-rubric", "out", "Mentions the deadline", 0.7, judge=judge) == (False, 0.6)


def test_python_checks_from_the_project_folder(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "checks.py").write_text(
        "def short(output, record):\n    return len(output.split()) <= record['limit']\n"
        "def ratio(output, record):\n    return 0.25\n"
        "def verdict(output, record):\n    return {'pass': True, 'reason': 'ok'}\n"
        "def broken(output, record):\n    raise KeyError('boom')\n"
        "def weird(output, record):\n    return 7\n")
    checks = PythonChecks(tmp_path)
    assert score("python", "one two", "pkg.checks:short", checks=checks) == (True, 1.0)
    assert score("python", "one two three four", "pkg.checks:short", checks=checks) == (False, 0.0)
    assert score("python", "x", "pkg.checks:ratio", checks=checks) == (False, 0.25)
    assert score("python", "x", "pkg.checks:ratio", 0.2, checks=checks) == (True, 0.25)
    assert score("python", "x", "pkg.checks:verdict", checks=checks) == (True, 1.0)
    with pytest.raises(ScorerError, match="raised KeyError"):
        score("python", "x", "pkg.checks:broken", checks=checks)
    with pytest.raises(ScorerError, match="expected a bool or a 0–1 number"):
        score("python", "x", "pkg.checks:weird", checks=checks)


def test_a_case_passes_when_all_pass_and_scores_the_mean() -> None:
    asserts = (Assertion("contains", "a"), Assertion("contains", "z"),
               Assertion("similar", "abc", 0.1))
    case = EvalCase(id="c", vars={}, asserts=asserts, record={})
    result = score_case(case, "abc", judge=no_judge, checks=PythonChecks(Path(".")))
    assert not result.passed
    assert result.score == pytest.approx((1 + 0 + 1) / 3)


@pytest.mark.parametrize("reply, ok", [
    ('{"score": 0.5, "reason": "half"}', True),
    ('```json\n{"score": 1, "reason": "ok"}\n```', True),
    ('{"score": 1.5, "reason": "x"}', False),
    ('{"score": true, "reason": "x"}', False),
    ('{"reason": "x"}', False),
    ("[0.5]", False),
    ("The answer is good.", False),
])
def test_judge_verdicts_are_validated(reply: str, ok: bool) -> None:
    if ok:
        assert 0 <= parse_verdict(reply).score <= 1
    else:
        with pytest.raises(MalformedVerdict):
            parse_verdict(reply)
