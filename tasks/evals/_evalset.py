"""Eval sets (docs/contracts.md, "Eval sets"): loading, validation, content-hash version, matching to prompts.

An eval set is a JSON Lines file. Every line is one case::

    {"id": "case-017", "vars": {"text": "..."}, "reference": "...",
     "assert": [{"type": "icontains", "value": "refund"}], "tags": ["billing"]}

A bad line is a :class:`UsageError` naming the file, the line and the key, raised before any
model is called. The version of a set is the SHA-256 of the canonical JSON of its records sorted
by ``id`` (the canonical JSON of "Prompt files and the version hash"), so reordering lines keeps the version and editing one
changes it.

Which eval sets belong to a prompt (used by the nightly step): ``evalsets/<prompt>.jsonl``,
``evalsets/<prompt>.<anything>.jsonl`` and every ``*.jsonl`` under ``evalsets/<prompt>/``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry import canonical_json

ASSERTION_TYPES = frozenset(
    {"equals", "contains", "icontains", "regex", "is-json", "json-schema", "similar",
     "llm-rubric", "python"}
)
STRING_VALUED = frozenset({"equals", "contains", "icontains", "regex", "llm-rubric", "python"})
THRESHOLDED = frozenset({"similar", "llm-rubric", "python"})
ASSERTION_KEYS = frozenset({"type", "value", "threshold", "metric"})
SIMILARITY_METRICS = ("ratio", "token_sort_ratio", "token_set_ratio", "partial_ratio")
_PYTHON_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class Assertion:
    """One check of an output: its "Eval sets" type, value and optional threshold (0–1)."""

    type: str
    value: Any = None
    threshold: float | None = None
    metric: str | None = None  # for ``similar``: the rapidfuzz scorer (default ``ratio``)


@dataclass(frozen=True)
class EvalCase:
    """One line of an eval set."""

    id: str
    vars: dict[str, Any]
    asserts: tuple[Assertion, ...]
    reference: str | None = None
    tags: tuple[str, ...] = ()
    line: int = 0
    record: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class EvalSet:
    """A loaded, validated eval set."""

    path: Path
    name: str
    hash: str
    cases: tuple[EvalCase, ...]

    @property
    def short(self) -> str:
        """The 12-character short form of the content hash."""
        return self.hash[:12]


def evalset_hash(records: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON of the records sorted by ``id`` (docs/contracts.md, "Eval sets")."""
    ordered = sorted(records, key=lambda r: str(r["id"]))
    return hashlib.sha256(canonical_json(ordered).encode("utf-8")).hexdigest()


def load_evalset(
    path: str | Path, *, python_resolver: Callable[[str], object] | None = None
) -> EvalSet:
    """Read and validate an eval set; :class:`UsageError` names file, line and key on bad input.

    ``python_resolver``, when given, is called with every ``python`` assertion's
    ``module:function`` so that a missing function is reported before the run starts.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such eval set file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason})") from None
    records: list[dict[str, Any]] = []
    cases: list[EvalCase] = []
    first_line_of: dict[str, int] = {}
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{line_no}"
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        case = _case(record, where, line_no, path, python_resolver)
        if case.id in first_line_of:
            raise UsageError(
                f"{where}: key 'id': duplicate case id {case.id!r} (first on line "
                f"{first_line_of[case.id]})"
            )
        first_line_of[case.id] = line_no
        records.append(record)
        cases.append(case)
    if not cases:
        raise UsageError(f"{path}: the eval set has no cases")
    return EvalSet(path=path.resolve(), name=path.stem, hash=evalset_hash(records),
                   cases=tuple(cases))


def _case(
    record: Any, where: str, line_no: int, path: Path,
    python_resolver: Callable[[str], object] | None,
) -> EvalCase:
    if not isinstance(record, dict):
        raise UsageError(f"{where}: a case must be a JSON object, got {type(record).__name__}")
    case_id = record.get("id")
    if not isinstance(case_id, str) or not case_id.strip():
        raise UsageError(f"{where}: key 'id': required, a non-empty string")
    variables = record.get("vars", {})
    if not isinstance(variables, dict):
        raise UsageError(f"{where}: key 'vars': must be an object of template variables")
    reference = record.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise UsageError(f"{where}: key 'reference': must be a string")
    tags = record.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise UsageError(f"{where}: key 'tags': must be a list of non-empty strings")
    raw_asserts = record.get("assert")
    if not isinstance(raw_asserts, list) or not raw_asserts:
        raise UsageError(f"{where}: key 'assert': required, a non-empty list of assertions")
    asserts = tuple(
        _assertion(a, f"{where}: key 'assert[{i}]", reference, python_resolver)
        for i, a in enumerate(raw_asserts)
    )
    return EvalCase(id=case_id, vars=variables, asserts=asserts, reference=reference,
                    tags=tuple(dict.fromkeys(tags)), line=line_no, record=record)


def _assertion(
    raw: Any, where: str, reference: str | None,
    python_resolver: Callable[[str], object] | None,
) -> Assertion:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}]': an assertion must be an object")
    kind = raw.get("type")
    if kind not in ASSERTION_TYPES:
        raise UsageError(
            f"{where}.type': unknown assertion type {kind!r} "
            f"(known: {', '.join(sorted(ASSERTION_TYPES))})"
        )
    unknown = set(raw) - ASSERTION_KEYS
    if unknown:
        raise UsageError(f"{where}.{sorted(unknown)[0]}': unknown key for an assertion")
    value = raw.get("value")
    if kind in STRING_VALUED and (not isinstance(value, str) or not value):
        raise UsageError(f"{where}.value': {kind} needs a non-empty string value")
    if kind == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            raise UsageError(f"{where}.value': not a valid regular expression ({exc})") from None
    if kind in ("json-schema", "is-json") and value is not None:
        if not isinstance(value, dict):
            raise UsageError(f"{where}.value': {kind} needs a JSON Schema object")
        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.SchemaError as exc:
            raise UsageError(f"{where}.value': not a valid JSON Schema ({exc.message})") from None
    if kind == "json-schema" and value is None:
        raise UsageError(f"{where}.value': json-schema needs a JSON Schema object")
    if kind == "similar":
        if value is None and reference is None:
            raise UsageError(f"{where}.value': similar needs a value or the case's reference")
        if value is not None and not isinstance(value, str):
            raise UsageError(f"{where}.value': similar needs a string value")
    metric = raw.get("metric")
    if metric is not None and (kind != "similar" or metric not in SIMILARITY_METRICS):
        raise UsageError(
            f"{where}.metric': only for similar, one of {', '.join(SIMILARITY_METRICS)}"
        )
    if kind == "python":
        if not _PYTHON_REF.match(value):
            raise UsageError(f"{where}.value': python needs 'module:function', got {value!r}")
        if python_resolver is not None:
            try:
                python_resolver(value)
            except UsageError as exc:
                raise UsageError(f"{where}.value': {exc}") from None
    threshold = raw.get("threshold")
    if threshold is not None:
        if kind not in THRESHOLDED:
            raise UsageError(f"{where}.threshold': {kind} takes no threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
            0 <= threshold <= 1
        ):
            raise UsageError(f"{where}.threshold': must be a number from 0 to 1")
        threshold = float(threshold)
    return Assertion(type=kind, value=value, threshold=threshold, metric=metric)


def evalsets_for_prompt(evalsets_dir: Path, prompt_name: str) -> list[Path]:
    """The eval set files that belong to a prompt, sorted (see the module docstring)."""
    if not evalsets_dir.is_dir():
        return []
    found = set(evalsets_dir.glob(f"{_glob_escape(prompt_name)}.jsonl"))
    found |= set(evalsets_dir.glob(f"{_glob_escape(prompt_name)}.*.jsonl"))
    folder = evalsets_dir / prompt_name
    if folder.is_dir():
        found |= set(folder.rglob("*.jsonl"))
    return sorted(p for p in found if p.is_file())


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
