"""Eval sets: validation names file, line and key; the version hash ignores line order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from flywheel.tasks.errors import UsageError
from flywheel.tasks.evals._evalset import evalsets_for_prompt, load_evalset
from flywheel.tasks.evals._scorers import PythonChecks

REPO = Path(__file__).resolve().parents[2]
GOOD = {"id": "c1", "vars": {"text": "x"}, "assert": [{"type": "icontains", "value": "x"}]}


@pytest.mark.parametrize("record, message", [
    ("{not json", "not valid JSON"),
    ({"vars": {}, "assert": GOOD["assert"]}, "key 'id'"),
    (GOOD | {"vars": ["x"]}, "key 'vars'"),
    (GOOD | {"assert": []}, "key 'assert'"),
    (GOOD | {"assert": [{"type": "fuzzy", "value": "x"}]}, "key 'assert[0].type'"),
    (GOOD | {"assert": [{"type": "regex", "value": "("}]}, "key 'assert[0].value'"),
    (GOOD | {"assert": [{"type": "contains"}]}, "key 'assert[0].value'"),
    (GOOD | {"assert": [{"type": "similar", "value": "x", "threshold": 2}]},
     "key 'assert[0].threshold'"),
    (GOOD | {"assert": [{"type": "equals", "value": "x", "threshold": 0.5}]},
     "key 'assert[0].threshold'"),
    (GOOD | {"assert": [{"type": "similar"}]}, "needs a value or the case's reference"),
    (GOOD | {"assert": [{"type": "json-schema", "value": {"type": "nope"}}]},
     "not a valid JSON Schema"),
    (GOOD | {"assert": [{"type": "python", "value": "no_colon"}]}, "module:function"),
    (GOOD | {"assert": [{"type": "icontains", "value": "x", "wat": 1}]}, "assert[0].wat"),
    (GOOD | {"tags": "billing"}, "key 'tags'"),
])
def test_a_bad_line_names_file_line_and_key(
    tmp_path: Path, write_jsonl: Callable[..., Path], record: object, message: str
) -> None:
    path = write_jsonl(tmp_path / "set.jsonl", [GOOD | {"id": "c0"}, "", record])
    with pytest.raises(UsageError) as err:
        load_evalset(path)
    assert f"{path}:3" in str(err.value)
    assert message in str(err.value)


def test_duplicate_ids_name_both_lines(tmp_path: Path, write_jsonl: Callable[..., Path]) -> None:
    path = write_jsonl(tmp_path / "set.jsonl", [GOOD, GOOD])
    expected = r"set.jsonl:2: key 'id': duplicate case id 'c1' \(first on line 1\)"
    with pytest.raises(UsageError, match=expected):
        load_evalset(path)


def test_missing_python_check_is_reported_before_the_run(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    path = write_jsonl(tmp_path / "set.jsonl",
                       [GOOD | {"assert": [{"type": "python", "value": "checks:nope"}]}])
    (tmp_path / "checks.py").write_text("def other(o, r):\n    return True\n")
    with pytest.raises(UsageError, match=r"set.jsonl:1: key 'assert\[0\].value'.*no function nope"):
        load_evalset(path, python_resolver=PythonChecks(tmp_path))


def test_hash_is_the_sorted_canonical_content(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    a = GOOD | {"id": "a"}
    b = GOOD | {"id": "b", "tags": ["t"]}
    first = load_evalset(write_jsonl(tmp_path / "one.jsonl", [a, b]))
    second = load_evalset(write_jsonl(tmp_path / "two.jsonl", [b, "", a]))
    assert first.hash == second.hash
    edited = load_evalset(write_jsonl(tmp_path / "three.jsonl", [a, b | {"tags": ["u"]}]))
    assert edited.hash != first.hash
    canonical = json.dumps([a, b], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_example_sets_load_and_their_python_checks_resolve() -> None:
    for name in ("support", "summarizer"):
        evalset = load_evalset(REPO / "evalsets" / f"{name}.jsonl",
                               python_resolver=PythonChecks(REPO))
        assert 15 <= len(evalset.cases) <= 30
        kinds = {a.type for c in evalset.cases for a in c.asserts}
        assert {"icontains", "regex", "python", "llm-rubric", "similar"} <= kinds


def test_eval_sets_are_matched_to_prompts_by_name(tmp_path: Path) -> None:
    for rel in ("support.jsonl", "support.edge.jsonl", "support/extra.jsonl",
                "support-v2.jsonl", "summarizer.jsonl", "supportive.jsonl"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    found = sorted(p.relative_to(tmp_path).as_posix()
                   for p in evalsets_for_prompt(tmp_path, "support"))
    assert found == ["support.edge.jsonl", "support.jsonl", "support/extra.jsonl"]
    assert evalsets_for_prompt(tmp_path / "missing", "support") == []
