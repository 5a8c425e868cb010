"""The decision rules' thresholds: defaults here, overridden by ``decisions.yaml`` in the project
folder (docs/decisions.md documents every key).

``decisions.yaml`` has up to three sections (``promote``, ``reject``, ``rollback``) and an
optional ``prompts`` mapping of prompt name → the same sections, for one prompt only. A key that
is unknown or of the wrong kind is a :class:`UsageError` naming the file and the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from flywheel.tasks.ab import METRICS, Guardrail
from flywheel.tasks.errors import UsageError

RULES_FILE = "decisions.yaml"
GUARDRAIL_BLOCKS = ("fail", "inconclusive")
SEVERITIES = ("warning", "critical")


@dataclass(frozen=True)
class PromoteRules:
    """When a candidate that wins its experiment is promoted."""

    min_days: float = 7.0  # the experiment ran at least this long (a full weekly cycle)
    guardrails_block_on: str = "fail"  # fail: only a failed guardrail blocks; inconclusive: too
    require_offline_eval: bool = False  # no PROMOTE without an offline eval of the candidate


@dataclass(frozen=True)
class RejectRules:
    """When a candidate is rejected."""

    offline_max_pass_rate_drop: float | None = 0.10  # pass rate lower by this much (points)
    offline_significant_regression: bool = True  # paired 95% CI of the pass-rate change < 0
    online_significant_worse: bool = True  # primary metric significantly worse
    guardrail_fail: bool = True  # a guardrail of the experiment failed
    futility_sample_factor: float | None = 2.0  # this × the planned sample, still no effect


def _default_rollback_guardrails() -> tuple[Guardrail, ...]:
    return (Guardrail("latency_p95_ms", "increase", 0.10),
            Guardrail("error_rate", "increase", 0.25),
            Guardrail("cost_per_request", "increase", 0.25))


@dataclass(frozen=True)
class RollbackRules:
    """When the production version is rolled back to the version it replaced."""

    watch_days: float = 14.0  # after a promotion, production is watched this long
    lookback_days: float = 14.0  # the replaced version's logs this long before the promotion
    metric: str = "thumbs_up_rate"
    alpha: float = 0.05
    min_relative_drop: float = 0.0  # a significant drop must also be at least this large
    min_users: int = 100  # each window needs this many users before anything is concluded
    guardrails: tuple[Guardrail, ...] = field(default_factory=_default_rollback_guardrails)
    alert_severity: str | None = "critical"  # monitoring alerts that trigger a rollback


@dataclass(frozen=True)
class DecisionRules:
    """Every threshold of the decision rules, and where they came from."""

    promote: PromoteRules = field(default_factory=PromoteRules)
    reject: RejectRules = field(default_factory=RejectRules)
    rollback: RollbackRules = field(default_factory=RollbackRules)
    source: str = "defaults"
    per_prompt: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_prompt(self, prompt: str) -> DecisionRules:
        """The rules with ``prompts.<prompt>`` of the file applied."""
        override = self.per_prompt.get(prompt)
        if not override:
            return self
        where = f"{self.source}: prompts.{prompt}"
        return replace(self, **_sections(override, where, base=self), per_prompt={})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the report's rules table."""
        def section(obj: Any) -> dict[str, Any]:
            out = {}
            for f in fields(obj):
                value = getattr(obj, f.name)
                if f.name == "guardrails":
                    value = [{"metric": g.metric, "worse_if": g.worse_if,
                              "max_relative_change": g.max_relative_change} for g in value]
                out[f.name] = value
            return out
        return {"source": self.source, "promote": section(self.promote),
                "reject": section(self.reject), "rollback": section(self.rollback)}


def _fail(where: str, key: str, message: str) -> UsageError:
    return UsageError(f"{where}: {key}: {message}")


def _number(where: str, key: str, value: Any, *, minimum: float = 0.0,
            optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, key, f"must be a number{' or null' if optional else ''}, not {value!r}")
    if value < minimum:
        raise _fail(where, key, f"must be >= {minimum:g}, not {value!r}")
    return float(value)


def _flag(where: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, key, f"must be true or false, not {value!r}")
    return value


def _choice(where: str, key: str, value: Any, options: tuple[str, ...],
            optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if value not in options:
        raise _fail(where, key, f"must be one of {', '.join(options)}"
                    f"{' or null' if optional else ''}, not {value!r}")
    return str(value)


def _metric(where: str, key: str, value: Any) -> str:
    if value not in METRICS:
        raise _fail(where, key, f"unknown metric {value!r}; known: {', '.join(METRICS)}")
    return str(value)


def _guardrails(where: str, key: str, value: Any) -> tuple[Guardrail, ...]:
    if not isinstance(value, list):
        raise _fail(where, key, "must be a list of {metric, worse_if, max_relative_change}")
    out = []
    for i, item in enumerate(value):
        item_key = f"{key}[{i}]"
        if not isinstance(item, dict) or set(item) - {"metric", "worse_if", "max_relative_change"}:
            raise _fail(where, item_key, "must be {metric, worse_if, max_relative_change}")
        metric = _metric(where, f"{item_key}.metric", item.get("metric"))
        default = "increase" if METRICS[metric].lower_is_better else "decrease"
        worse_if = _choice(where, f"{item_key}.worse_if", item.get("worse_if", default),
                           ("increase", "decrease"))
        change = _number(where, f"{item_key}.max_relative_change",
                         item.get("max_relative_change", 0.0))
        out.append(Guardrail(metric, str(worse_if), float(change or 0.0)))
    return tuple(out)


def _promote(where: str, raw: dict[str, Any], base: PromoteRules) -> PromoteRules:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"promote.{key}"
        if key == "min_days":
            values[key] = _number(where, name, value)
        elif key == "guardrails_block_on":
            values[key] = _choice(where, name, value, GUARDRAIL_BLOCKS)
        elif key == "require_offline_eval":
            values[key] = _flag(where, name, value)
        else:
            raise _unknown(where, "promote", key, PromoteRules)
    return replace(base, **values)


def _reject(where: str, raw: dict[str, Any], base: RejectRules) -> RejectRules:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"reject.{key}"
        if key == "offline_max_pass_rate_drop":
            values[key] = _number(where, name, value, optional=True)
        elif key == "futility_sample_factor":
            values[key] = _number(where, name, value, minimum=1.0, optional=True)
        elif key in ("offline_significant_regression", "online_significant_worse",
                     "guardrail_fail"):
            values[key] = _flag(where, name, value)
        else:
            raise _unknown(where, "reject", key, RejectRules)
    return replace(base, **values)


def _rollback(where: str, raw: dict[str, Any], base: RollbackRules) -> RollbackRules:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"rollback.{key}"
        if key in ("watch_days", "lookback_days", "min_relative_drop"):
            values[key] = _number(where, name, value)
        elif key == "alpha":
            alpha = _number(where, name, value)
            if not 0 < (alpha or 0) < 0.5:
                raise _fail(where, name, f"must be in (0, 0.5), not {value!r}")
            values[key] = alpha
        elif key == "min_users":
            values[key] = int(_number(where, name, value, minimum=2) or 2)
        elif key == "metric":
            values[key] = _metric(where, name, value)
        elif key == "guardrails":
            values[key] = _guardrails(where, name, value)
        elif key == "alert_severity":
            values[key] = _choice(where, name, value, SEVERITIES, optional=True)
        else:
            raise _unknown(where, "rollback", key, RollbackRules)
    return replace(base, **values)


def _unknown(where: str, section: str, key: str, kind: type) -> UsageError:
    known = ", ".join(f.name for f in fields(kind))
    return _fail(where, f"{section}.{key}", f"unknown key; known: {known}")


def _sections(raw: dict[str, Any], where: str, base: DecisionRules) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, parse, current in (("promote", _promote, base.promote),
                                    ("reject", _reject, base.reject),
                                    ("rollback", _rollback, base.rollback)):
        if section in raw:
            if not isinstance(raw[section], dict):
                raise _fail(where, section, "must be a mapping")
            out[section] = parse(where, raw[section], current)
    return out


def load_rules(project_dir: Path) -> DecisionRules:
    """The rules of a project: ``<project>/decisions.yaml`` over the defaults (defaults alone
    when there is no such file)."""
    path = project_dir / RULES_FILE
    if not path.is_file():
        return DecisionRules()
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        raise UsageError(f"{where}:{line} not valid YAML: {exc}") from None
    if raw is None:
        return DecisionRules(source=where)
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: must be a mapping with promote, reject, rollback, prompts")
    unknown = set(raw) - {"promote", "reject", "rollback", "prompts"}
    if unknown:
        raise _fail(where, ", ".join(sorted(map(str, unknown))),
                    "unknown section; known: promote, reject, rollback, prompts")
    base = DecisionRules(source=where)
    rules = replace(base, **_sections(raw, where, base))
    prompts = raw.get("prompts") or {}
    if not isinstance(prompts, dict):
        raise _fail(where, "prompts", "must map prompt names to promote/reject/rollback sections")
    for name, override in prompts.items():
        if not isinstance(override, dict) or set(override) - {"promote", "reject", "rollback"}:
            raise _fail(where, f"prompts.{name}",
                        "must be a mapping of promote, reject, rollback sections")
        _sections(override, f"{where}: prompts.{name}", rules)  # validate now, not at use
    return replace(rules, per_prompt={str(k): v for k, v in prompts.items()})
