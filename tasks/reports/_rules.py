"""Every decision threshold: defaults here, overridden by ``decisions.yaml`` in the project
folder (docs/decisions.md documents every key; a test checks its defaults against these).

``decisions.yaml`` has up to four sections (``promote``, ``reject``, ``rollback`` for the
nightly report, ``rollout`` for promotion ramps) and an optional ``prompts`` mapping of prompt
name → the same sections, for one prompt only. A key that
is unknown or of the wrong kind is a :class:`UsageError` naming the file and the key.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from flywheel.tasks.ab import METRICS, Guardrail
from flywheel.tasks.errors import UsageError

RULES_FILE = "decisions.yaml"
GUARDRAIL_BLOCKS = ("fail", "inconclusive")
SEVERITIES = ("warning", "critical")
SECTIONS = ("promote", "reject", "rollback", "rollout")


@dataclass(frozen=True)
class PromoteRules:
    """When a candidate that wins its experiment is promoted."""

    min_days: float = 7.0  # the experiment ran at least this long (a full weekly cycle)
    guardrails_block_on: str = "fail"  # fail: only a failed guardrail blocks; inconclusive: too
    require_offline_eval: bool = False  # no PROMOTE without an offline eval of the candidate
    # hold.guardrail_worse: a guardrail significantly worse and not shown within its margin
    hold_on_significantly_worse_guardrail: bool = True
    # cost_per_request as a guardrail of every experiment (this margin, worse if it increases)
    # unless the experiment file declares one; null: cost is shown, not weighed
    cost_guardrail: float | None = None


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


def _default_ramp_guardrails() -> tuple[Guardrail, ...]:
    return (Guardrail("error_rate", "increase", 0.10),
            Guardrail("latency_p95_ms", "increase", 0.10),
            Guardrail("thumbs_up_rate", "decrease", 0.05))


@dataclass(frozen=True)
class RolloutRules:
    """When a promotion ramp (``flywheel prompts promote --ramp``) advances a stage; the
    nightly rollout step applies them (docs/serving.md, "Rollout rules")."""

    min_users_per_stage: int = 200  # per arm during the stage, before it may advance
    guardrails: tuple[Guardrail, ...] = field(default_factory=_default_ramp_guardrails)


@dataclass(frozen=True)
class DecisionRules:
    """Every threshold of the decision rules, and where they came from."""

    promote: PromoteRules = field(default_factory=PromoteRules)
    reject: RejectRules = field(default_factory=RejectRules)
    rollback: RollbackRules = field(default_factory=RollbackRules)
    rollout: RolloutRules = field(default_factory=RolloutRules)
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
                "reject": section(self.reject), "rollback": section(self.rollback),
                "rollout": section(self.rollout)}


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


def _alpha(where: str, name: str, value: Any) -> float:
    alpha = _number(where, name, value)
    if not 0 < (alpha or 0) < 0.5:
        raise _fail(where, name, f"must be in (0, 0.5), not {value!r}")
    return float(alpha or 0)


Parse = Callable[[str, str, Any], Any]  # (where, section.key, value) -> the checked value


def _num(**kw: Any) -> Parse:
    return lambda where, name, value: _number(where, name, value, **kw)


def _whole(minimum: int) -> Parse:
    return lambda where, name, value: int(_number(where, name, value, minimum=minimum)
                                          or minimum)


def _one_of(options: tuple[str, ...], optional: bool = False) -> Parse:
    return lambda where, name, value: _choice(where, name, value, options, optional)


# Every key of every section and how its value is checked (the defaults: the dataclasses above).
PARSERS: dict[str, dict[str, Parse]] = {
    "promote": {"min_days": _num(), "guardrails_block_on": _one_of(GUARDRAIL_BLOCKS),
                "require_offline_eval": _flag, "hold_on_significantly_worse_guardrail": _flag,
                "cost_guardrail": _num(optional=True)},
    "reject": {"offline_max_pass_rate_drop": _num(optional=True),
               "futility_sample_factor": _num(minimum=1.0, optional=True),
               "offline_significant_regression": _flag, "online_significant_worse": _flag,
               "guardrail_fail": _flag},
    "rollback": {"watch_days": _num(), "lookback_days": _num(), "min_relative_drop": _num(),
                 "alpha": _alpha, "min_users": _whole(2), "metric": _metric,
                 "guardrails": _guardrails, "alert_severity": _one_of(SEVERITIES, True)},
    "rollout": {"min_users_per_stage": _whole(1), "guardrails": _guardrails},
}


def _section(where: str, section: str, raw: dict[str, Any], base: Any) -> Any:
    """``base`` with the keys of one section of the file, each checked by its parser."""
    parsers = PARSERS[section]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in parsers:
            known = ", ".join(f.name for f in fields(base))
            raise _fail(where, f"{section}.{key}", f"unknown key; known: {known}")
        values[key] = parsers[key](where, f"{section}.{key}", value)
    return replace(base, **values)


def _sections(raw: dict[str, Any], where: str, base: DecisionRules) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section in SECTIONS:
        if section in raw:
            if not isinstance(raw[section], dict):
                raise _fail(where, section, "must be a mapping")
            out[section] = _section(where, section, raw[section], getattr(base, section))
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
        raise UsageError(f"{where}: must be a mapping with {', '.join(SECTIONS)}, prompts")
    unknown = set(raw) - {*SECTIONS, "prompts"}
    if unknown:
        raise _fail(where, ", ".join(sorted(map(str, unknown))),
                    f"unknown section; known: {', '.join(SECTIONS)}, prompts")
    base = DecisionRules(source=where)
    rules = replace(base, **_sections(raw, where, base))
    prompts = raw.get("prompts") or {}
    if not isinstance(prompts, dict):
        raise _fail(where, "prompts", f"must map prompt names to {'/'.join(SECTIONS)} sections")
    for name, override in prompts.items():
        if not isinstance(override, dict) or set(override) - set(SECTIONS):
            raise _fail(where, f"prompts.{name}",
                        f"must be a mapping of {', '.join(SECTIONS)} sections")
        _sections(override, f"{where}: prompts.{name}", rules)  # validate now, not at use
    return replace(rules, per_prompt={str(k): v for k, v in prompts.items()})
