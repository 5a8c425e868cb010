"""Experiment files (docs/contracts.md, "Formats": experiment files): loading and validating
``experiments/<name>.yaml``.

A bad file is a :class:`UsageError` that names the file and the key at fault; nothing is
half-loaded.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from flywheel.tasks.ab._allocation_spec import AllocationPlan, parse_allocation
from flywheel.tasks.ab._metrics import METRICS
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry import PromptFileError, marked_yaml
from flywheel.tasks.stats import DEFAULT_SEQUENTIAL_TUNING

MULTIPLE_TESTING = ("holm", "bh", "none")
DEFAULT_ALPHA = 0.05
DEFAULT_MDE = 0.05
WEIGHT_SUM_TOLERANCE = 1e-3  # 0.333 three times is fine; 0.5 + 0.6 is a typo
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_REF = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9_.\-/]*@[A-Za-z0-9][A-Za-z0-9_.\-]*"
    r"|[A-Za-z0-9][A-Za-z0-9_.\-/]*:[0-9a-f]{6,64}"
    r"|[0-9a-f]{6,64})$"
)
_KEYS = {"name", "description", "variants", "weights", "start", "end", "primary_metric",
         "guardrails", "alpha", "mde", "sequential", "multiple_testing", "owner", "hypothesis",
         "tags", "rollout", "allocation"}
DEFAULT_MIN_USERS_PER_STAGE = 200


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not get worse than ``max_relative_change`` in direction ``worse_if``."""

    metric: str
    worse_if: str  # "increase" | "decrease"
    max_relative_change: float


@dataclass(frozen=True)
class RolloutPlan:
    """A ramp (docs/serving.md): the share of users enrolled grows one stage per healthy night."""

    stages: tuple[float, ...]  # strictly increasing fractions in (0, 1]
    min_users_per_stage: int = DEFAULT_MIN_USERS_PER_STAGE  # per arm, before a stage may advance


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file."""

    name: str
    variants: dict[str, str]  # variant -> prompt REF; the first is the control
    weights: tuple[float, ...]  # in variant order, normalized to sum 1
    start: datetime  # UTC
    end: datetime | None
    primary_metric: str
    guardrails: tuple[Guardrail, ...] = ()
    alpha: float = DEFAULT_ALPHA
    mde: float = DEFAULT_MDE
    sequential: bool = False
    sequential_tuning: int = DEFAULT_SEQUENTIAL_TUNING
    multiple_testing: str = "holm"
    description: str = ""
    source_file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    rollout: RolloutPlan | None = None
    allocation: AllocationPlan | None = None  # a bandit: weights change nightly (_allocation)

    @property
    def variant_names(self) -> list[str]:
        """The variants in file order."""
        return list(self.variants)

    @property
    def control(self) -> str:
        """The first variant."""
        return next(iter(self.variants))

    @property
    def treatments(self) -> list[str]:
        """Every variant but the control."""
        return self.variant_names[1:]


class ExperimentFileError(UsageError):
    """A bad experiment file (exit status 2): ``FILE:LINE: KEY: message`` (no line when there
    is none to point at, e.g. a missing key); the parts are attributes too."""

    def __init__(self, file: str, line: int | None, key: str | None, message: str) -> None:
        self.file, self.line, self.key, self.message = file, line, key, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file, self.line, self.key, self.message))

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict (``error``: the whole one-line message)."""
        return {"file": self.file, "line": self.line, "key": self.key, "message": self.message,
                "error": str(self)}


_LAST_PART = re.compile(r"(?:\.[^.\[]*|\[\d+\])$")


@dataclass(frozen=True)
class _Source:
    """The file being validated and the line of each of its key paths."""

    path: Path
    lines: Mapping[str, int]

    def line_of(self, key: str) -> int | None:
        """The line of ``key`` (``guardrails[0].metric``), else of its nearest parent."""
        while key:
            if key in self.lines:
                return self.lines[key]
            shorter = _LAST_PART.sub("", key)
            if shorter == key:
                break
            key = shorter
        return None


def _fail(src: _Source, key: str, message: str) -> ExperimentFileError:
    return ExperimentFileError(str(src.path), src.line_of(key.split(", ")[0]), key, message)


def _number(src: _Source, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(src, key, f"must be a number, not {value!r}")
    return float(value)


def _timestamp(src: _Source, key: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.min)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _fail(src, key, f"not a date or ISO 8601 timestamp: {value!r}") from None
    else:
        raise _fail(src, key, f"must be a date or ISO 8601 timestamp, not {value!r}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _variants(src: _Source, raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping) or len(raw) < 2:
        raise _fail(src, "variants", "must map at least two variant names to prompt REFs "
                    "(the first one is the control)")
    variants: dict[str, str] = {}
    for name, ref in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise _fail(src, "variants", f"bad variant name {name!r}")
        if not isinstance(ref, str) or not _REF.match(ref.strip()):
            raise _fail(src, f"variants.{name}",
                        f"{ref!r} is not a prompt REF (NAME@LABEL, NAME:HASH or HASH)")
        variants[name] = ref.strip()
    return variants


def _weights(src: _Source, raw: Any, variants: list[str]) -> tuple[float, ...]:
    if raw is None:
        return tuple(1.0 / len(variants) for _ in variants)
    if not isinstance(raw, Mapping):
        raise _fail(src, "weights", "must map each variant to a weight")
    unknown = set(raw) - set(variants)
    missing = [v for v in variants if v not in raw]
    if unknown:
        raise _fail(src, "weights", f"unknown variant(s): {', '.join(map(str, sorted(unknown)))}")
    if missing:
        raise _fail(src, "weights", f"no weight for: {', '.join(missing)}")
    values = [_number(src, f"weights.{v}", raw[v]) for v in variants]
    if any(w < 0 for w in values) or sum(values) <= 0:
        raise _fail(src, "weights", "weights must be >= 0 with a positive sum")
    total = math.fsum(values)
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:  # never rescale silently: a typo is not a share
        raise _fail(src, "weights", f"must sum to 1 (the share of users per arm), not {total:g}")
    return tuple(w / total for w in values)


def _metric(src: _Source, key: str, value: Any) -> str:
    if value not in METRICS:
        raise _fail(src, key, f"unknown metric {value!r}; known: {', '.join(METRICS)}")
    return str(value)


def _guardrails(src: _Source, raw: Any) -> tuple[Guardrail, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(src, "guardrails", "must be a list of {metric, worse_if, max_relative_change}")
    out = []
    for i, item in enumerate(raw):
        key = f"guardrails[{i}]"
        if not isinstance(item, Mapping):
            raise _fail(src, key, "must be a mapping")
        extra = set(item) - {"metric", "worse_if", "max_relative_change"}
        if extra:
            raise _fail(src, key, f"unknown key(s): {', '.join(sorted(map(str, extra)))}")
        metric = _metric(src, f"{key}.metric", item.get("metric"))
        default_worse = "increase" if METRICS[metric].lower_is_better else "decrease"
        worse_if = item.get("worse_if", default_worse)
        if worse_if not in ("increase", "decrease"):
            raise _fail(src, f"{key}.worse_if", f"must be increase or decrease, not {worse_if!r}")
        change = _number(src, f"{key}.max_relative_change", item.get("max_relative_change", 0))
        if change < 0:
            raise _fail(src, f"{key}.max_relative_change", "must be >= 0")
        out.append(Guardrail(metric, worse_if, change))
    return tuple(out)


def _sequential(src: _Source, raw: Any) -> tuple[bool, int]:
    if raw is None:
        return False, DEFAULT_SEQUENTIAL_TUNING
    if isinstance(raw, bool):
        return raw, DEFAULT_SEQUENTIAL_TUNING
    if not isinstance(raw, Mapping):
        raise _fail(src, "sequential", "must be {enabled: true|false, tuning: N}")
    extra = set(raw) - {"enabled", "tuning"}
    if extra:
        raise _fail(src, "sequential", f"unknown key(s): {', '.join(sorted(map(str, extra)))}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(src, "sequential.enabled", f"must be true or false, not {enabled!r}")
    tuning = raw.get("tuning", DEFAULT_SEQUENTIAL_TUNING)
    if isinstance(tuning, bool) or not isinstance(tuning, int) or tuning <= 0:
        raise _fail(src, "sequential.tuning", f"must be a positive integer (N*), not {tuning!r}")
    return enabled, tuning


def stage_fraction(value: Any) -> float:
    """One ramp stage as a fraction: a number in (0, 1] or a percentage string like ``"5%"``."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            value = float(value.strip()[:-1]) / 100
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a fraction")
    if not 0 < value <= 1:
        raise ValueError(f"{value!r} is not in (0, 1]")
    return float(value)


def check_stages(raw: Any) -> tuple[float, ...]:
    """Validated ramp stages (ValueError with the reason): fractions in (0, 1], increasing."""
    if not isinstance(raw, list | tuple) or not raw:
        raise ValueError("must be a non-empty list of fractions, e.g. [0.05, 0.2, 0.5, 1.0]")
    stages = tuple(stage_fraction(v) for v in raw)
    if any(b <= a for a, b in itertools.pairwise(stages)):
        raise ValueError(f"must increase strictly, not {list(stages)}")
    return stages


def _rollout(src: _Source, raw: Any) -> RolloutPlan | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _fail(src, "rollout", "must be {stages: [0.05, 0.2, 0.5, 1.0], "
                    "min_users_per_stage: N}")
    extra = set(raw) - {"stages", "min_users_per_stage"}
    if extra:
        raise _fail(src, "rollout", f"unknown key(s): {', '.join(sorted(map(str, extra)))}")
    try:
        stages = check_stages(raw.get("stages"))
    except ValueError as exc:
        raise _fail(src, "rollout.stages", str(exc)) from None
    users = raw.get("min_users_per_stage", DEFAULT_MIN_USERS_PER_STAGE)
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise _fail(src, "rollout.min_users_per_stage",
                    f"must be a positive integer, not {users!r}")
    return RolloutPlan(stages, users)


def _allocation(src: _Source, raw: Any, arms: int, primary_is_ratio: bool,
                sequential: bool) -> AllocationPlan | None:
    """The ``allocation:`` plan, its errors as this file's (file, line, key) like every key's."""
    try:
        return parse_allocation(src.path, raw, arms, primary_is_ratio, sequential)
    except ExperimentFileError:
        raise
    except UsageError as exc:
        message = str(exc).removeprefix(f"{src.path}: ").removeprefix("allocation: ")
        raise _fail(src, "allocation", message) from None


def parse_experiment(data: Any, path: Path, lines: Mapping[str, int] | None = None
                     ) -> Experiment:
    """Validate the parsed YAML of one experiment file (``lines``: the line of each key path,
    for the error messages)."""
    src = _Source(path, lines or {})
    if not isinstance(data, Mapping):
        raise ExperimentFileError(str(path), None, None, "an experiment file must be a YAML mapping")
    unknown = set(data) - _KEYS
    if unknown:
        raise _fail(src, ", ".join(sorted(map(str, unknown))),
                    f"unknown key; allowed: {', '.join(sorted(_KEYS))}")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(src, "name",
                    f"must be a name of letters, digits, '.', '_' or '-', not {name!r}")
    if name != path.stem:
        raise _fail(src, "name", f"{name!r} differs from the file name {path.stem!r}")
    variants = _variants(src, data.get("variants"))
    weights = _weights(src, data.get("weights"), list(variants))
    if "start" not in data or data["start"] is None:
        raise _fail(src, "start", "is required (a date or ISO timestamp, UTC)")
    start = _timestamp(src, "start", data["start"])
    end = None if data.get("end") is None else _timestamp(src, "end", data["end"])
    if end is not None and end <= start:
        raise _fail(src, "end", f"{end.isoformat()} is not after start {start.isoformat()}")
    if "primary_metric" not in data:
        raise _fail(src, "primary_metric", f"is required; one of {', '.join(METRICS)}")
    primary = _metric(src, "primary_metric", data["primary_metric"])
    alpha = _number(src, "alpha", data.get("alpha", DEFAULT_ALPHA))
    if not 0 < alpha < 0.5:
        raise _fail(src, "alpha", f"must be in (0, 0.5), not {alpha}")
    mde = _number(src, "mde", data.get("mde", DEFAULT_MDE))
    if mde <= 0:
        raise _fail(src, "mde", f"must be a positive relative effect, not {mde}")
    sequential, tuning = _sequential(src, data.get("sequential"))
    method = data.get("multiple_testing", "holm")
    if method not in MULTIPLE_TESTING:
        raise _fail(src, "multiple_testing",
                    f"must be one of {', '.join(MULTIPLE_TESTING)}, not {method!r}")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise _fail(src, "description", "must be text")
    return Experiment(
        name=name, variants=variants, weights=weights, start=start, end=end,
        primary_metric=primary, guardrails=_guardrails(src, data.get("guardrails")),
        alpha=alpha, mde=mde, sequential=sequential, sequential_tuning=tuning,
        multiple_testing=method, description=description.strip(), source_file=str(path),
        extra={k: data[k] for k in ("owner", "hypothesis", "tags") if k in data},
        rollout=_rollout(src, data.get("rollout")),
        allocation=_allocation(src, data.get("allocation"), len(variants),
                               METRICS[primary].kind == "ratio", sequential),
    )


def load_experiment(path: Path) -> Experiment:
    """Read and validate one experiment file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentFileError(str(path), None, None, f"cannot read: {exc}") from None
    try:  # the prompt files' parser: duplicate keys refused, every key's line known
        data, lines = marked_yaml(text, str(path), expected="an experiment (name, variants, "
                                  "start, primary_metric)")
    except PromptFileError as exc:
        first = exc.problems[0]
        raise ExperimentFileError(first.file, first.line, first.key, "; ".join(
            p.message if p is first else str(p) for p in exc.problems)) from None
    return parse_experiment(data, path, lines)


def _experiment_paths(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def load_experiment_files(folder: Path
                          ) -> tuple[dict[str, Experiment], dict[str, ExperimentFileError]]:
    """Every experiment file of ``folder`` that loads (by name, in file order), and the
    problem of each one that does not (by file stem, which a valid file's name equals): one
    bad file costs that experiment, not the others."""
    loaded: dict[str, Experiment] = {}
    problems: dict[str, ExperimentFileError] = {}
    for path in _experiment_paths(folder):
        try:
            exp = load_experiment(path)
        except ExperimentFileError as exc:
            problems[path.stem] = exc
            continue
        if exp.name in loaded:
            problems[path.stem] = ExperimentFileError(
                str(path), None, "name",
                f"{exp.name!r} is also defined in {loaded[exp.name].source_file}")
            continue
        loaded[exp.name] = exp
    return loaded, problems


def load_experiments(folder: Path) -> list[Experiment]:
    """Every ``*.yaml``/``*.yml`` file in ``folder`` (sorted by name); none if it is missing.
    The first bad file stops the load with an :class:`ExperimentFileError` naming it."""
    loaded, problems = load_experiment_files(folder)
    if problems:
        raise next(iter(problems.values()))
    return list(loaded.values())
