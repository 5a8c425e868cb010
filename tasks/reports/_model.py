"""The typed evidence the decision rules read, and the typed decision they return.

The store's rows and the A/B / eval reports (JSON) become these frozen dataclasses in one
place, :func:`evidence_of`, after redaction; nothing downstream of it reads a string key out of
an untyped mapping. Missing keys take the dataclass defaults (an A/B report of an older night,
hand-made evidence in the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROMOTE, HOLD, REJECT, ROLLBACK = "PROMOTE", "HOLD", "REJECT", "ROLLBACK"
FIRED, PASSED, NA = "fired", "passed", "n/a"

Raw = Mapping[str, Any]


# ------------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Effect:
    """One metric's relative effect of an arm (or of "after" against "before")."""

    metric: str
    variant: str = ""
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = None
    status: str | None = None
    direction: str | None = None  # better | worse | None
    error: str | None = None
    relative: bool = True  # False: the absolute change (the control's mean is 0)
    control_mean: float | None = None
    treatment_mean: float | None = None

    @classmethod
    def of(cls, raw: Raw) -> Effect:
        """From an A/B metric row or a rollback window metric."""
        return cls(raw["metric"], raw.get("variant") or "", raw.get("estimate"),
                   raw.get("ci_low"), raw.get("ci_high"), raw.get("p_value"),
                   raw.get("p_value_adjusted"), raw.get("status"), raw.get("direction"),
                   raw.get("error"), bool(raw.get("relative", True)),
                   raw.get("control_mean", raw.get("before_mean")),
                   raw.get("treatment_mean", raw.get("after_mean")))


@dataclass(frozen=True)
class GuardrailResult:
    """A guardrail judged on an interval: pass, fail or inconclusive."""

    metric: str
    worse_if: str
    max_relative_change: float
    status: str
    variant: str = ""
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    significantly_worse: bool = False  # the interval excludes 0 on the harmful side
    units_to_show_margin: int | None = None  # both arms, if the effect stays at its estimate
    units_so_far: int | None = None
    unit: str = "users"

    @classmethod
    def of(cls, raw: Raw) -> GuardrailResult:
        """From an A/B guardrail row or a rollback guardrail."""
        return cls(raw["metric"], raw["worse_if"], raw["max_relative_change"], raw["status"],
                   raw.get("variant") or "", raw.get("estimate"), raw.get("ci_low"),
                   raw.get("ci_high"), bool(raw.get("significantly_worse")),
                   raw.get("units_to_show_margin"), raw.get("units_so_far"),
                   raw.get("unit") or "users")


@dataclass(frozen=True)
class Integrity:
    """An experiment's integrity checks and their thresholds."""

    srm_p_value: float | None
    srm_threshold: float | None
    assignment_mismatch_share: float | None
    max_mismatch_share: float | None
    multi_arm_users: int
    failed: tuple[str, ...]

    @classmethod
    def of(cls, raw: Raw) -> Integrity:
        """From an A/B report's ``checks``."""
        limits = raw.get("thresholds") or {}
        return cls(raw.get("srm_p_value"), limits.get("srm_p_value"),
                   raw.get("assignment_mismatch_share"), limits.get("max_mismatch_share"),
                   int(raw.get("multi_arm_users") or 0), tuple(raw.get("failed") or ()))


@dataclass(frozen=True)
class SamplePlan:
    """The planned sample of an experiment's primary metric and how far it is."""

    unit: str
    so_far: int
    needed: int | None
    reached: bool
    mde: float | None = None
    target_power: float | None = None
    days_remaining: float | None = None
    new_units_per_day: float | None = None
    note: str | None = None

    @classmethod
    def of(cls, raw: Raw) -> SamplePlan:
        """From an A/B report's ``sample``."""
        return cls(raw.get("unit") or "users", int(raw.get("so_far") or 0), raw.get("needed"),
                   bool(raw.get("reached")), raw.get("mde"), raw.get("target_power"),
                   raw.get("days_remaining"), raw.get("new_units_per_day"), raw.get("note"))


@dataclass(frozen=True)
class ExperimentFacts:
    """What the rules read of one experiment of the night."""

    name: str
    primary_metric: str
    control: str
    trustworthy: bool
    checks: Integrity
    sample: SamplePlan
    days_running: float
    control_is_production: bool
    control_hash: str | None
    metrics: tuple[Effect, ...] = ()
    guardrails: tuple[GuardrailResult, ...] = ()

    @classmethod
    def of(cls, raw: Raw) -> ExperimentFacts:
        """From an A/B report with the evidence's additions (days running, control hash)."""
        return cls(raw["name"], raw["primary_metric"], raw["control"], bool(raw["trustworthy"]),
                   Integrity.of(raw["checks"]), SamplePlan.of(raw["sample"]),
                   float(raw["days_running"]), bool(raw["control_is_production"]),
                   raw.get("control_hash"), tuple(map(Effect.of, raw.get("metrics") or ())),
                   tuple(map(GuardrailResult.of, raw.get("guardrails") or ())))

    def effect(self, metric: str, variant: str) -> Effect | None:
        """The row of ``metric`` for arm ``variant``, if the analysis has one."""
        return next((m for m in self.metrics if m.metric == metric and m.variant == variant),
                    None)

    def guardrails_of(self, variant: str) -> tuple[GuardrailResult, ...]:
        """The guardrails judged for arm ``variant``."""
        return tuple(g for g in self.guardrails if g.variant == variant)


@dataclass(frozen=True)
class JudgeAgreement:
    """The latest calibration of one rubric of an eval's judge against human verdicts."""

    rubric: str
    kappa: float | None
    n: int
    min_kappa: float
    calibrated: bool

    @classmethod
    def of(cls, raw: Raw) -> JudgeAgreement:
        """From an eval evidence entry's ``judge`` row."""
        return cls(raw["rubric"], raw.get("kappa"), int(raw.get("n") or 0),
                   float(raw["min_kappa"]), bool(raw.get("calibrated")))


@dataclass(frozen=True)
class OfflineComparison:
    """One offline eval of a candidate against production (paired over the cases)."""

    evalset: str
    demo_model: bool
    paired_cases: int | None
    baseline_pass_rate: float | None
    candidate_pass_rate: float | None
    pass_rate_diff: float | None
    pass_rate_diff_ci: tuple[float | None, float | None]
    mcnemar_p_value: float | None
    regressions: int
    improvements: int
    judge: tuple[JudgeAgreement, ...] = ()

    @classmethod
    def of(cls, raw: Raw) -> OfflineComparison:
        """From an eval evidence entry (``comparison`` inside)."""
        c = raw["comparison"]
        mc = c.get("mcnemar") or {}
        low, high = c.get("pass_rate_diff_ci") or (None, None)
        return cls(raw["evalset"], bool(raw.get("demo_model")), c.get("paired_cases"),
                   c.get("baseline_pass_rate"), c.get("candidate_pass_rate"),
                   c.get("pass_rate_diff"), (low, high), mc.get("p_value"),
                   int(mc.get("regressions", 0) or 0), int(mc.get("improvements", 0) or 0),
                   tuple(map(JudgeAgreement.of, raw.get("judge") or ())))


@dataclass(frozen=True)
class ArmRef:
    """An experiment arm that serves a candidate."""

    experiment: str
    variant: str


@dataclass(frozen=True)
class CandidateFacts:
    """A version other than production that the night reports on."""

    hash: str
    short: str
    ref: str
    sources: tuple[str, ...]
    arms: tuple[ArmRef, ...]
    evals: tuple[OfflineComparison, ...]

    @classmethod
    def of(cls, raw: Raw) -> CandidateFacts:
        """From a candidate of the evidence."""
        return cls(raw["hash"], raw["short"], raw["ref"], tuple(raw.get("sources") or ()),
                   tuple(ArmRef(a["experiment"], a["variant"]) for a in raw.get("arms") or ()),
                   tuple(map(OfflineComparison.of, raw.get("evals") or ())))


@dataclass(frozen=True)
class Alert:
    """A monitoring alert about the prompt."""

    prompt_hash: str | None
    run_date: str
    kind: str
    severity: str
    metric: str
    message: str

    @classmethod
    def of(cls, raw: Raw) -> Alert:
        """From a ``monitor_alerts`` row (run date as ISO text)."""
        return cls(raw.get("prompt_hash"), raw["run_date"], raw["kind"], raw["severity"],
                   raw["metric"], raw["message"])


@dataclass(frozen=True)
class PromotionFacts:
    """Production since its promotion, against the version it replaced."""

    to_hash: str
    from_hash: str
    from_short: str
    moved_at: str
    days_since: float
    users_before: int
    users_after: int
    metrics: tuple[Effect, ...]
    guardrails: tuple[GuardrailResult, ...]

    @classmethod
    def of(cls, raw: Raw) -> PromotionFacts:
        """From the evidence's ``promotion`` (with its window comparison)."""
        comp = raw["comparison"]
        windows = comp["windows"]
        return cls(raw["to_hash"], raw["from_hash"], raw["from_short"], raw["moved_at"],
                   float(raw["days_since"]), int(windows["before"]["users"]),
                   int(windows["after"]["users"]), tuple(map(Effect.of, comp["metrics"])),
                   tuple(map(GuardrailResult.of, comp["guardrails"])))


@dataclass(frozen=True)
class Holdback:
    """An experiment in which production is a treatment against the version it replaced."""

    experiment: str
    variants: tuple[str, ...]


@dataclass(frozen=True)
class VersionRef:
    """A version by its hash and short hash."""

    hash: str | None
    short: str | None


@dataclass(frozen=True)
class PromptEvidence:
    """Everything the rules read about one prompt for one night."""

    prompt: str
    production: VersionRef | None
    candidates: tuple[CandidateFacts, ...]
    experiments: tuple[ExperimentFacts, ...]
    promotion: PromotionFacts | None = None
    holdbacks: tuple[Holdback, ...] = ()
    alerts: tuple[Alert, ...] | None = None

    def experiment(self, name: str) -> ExperimentFacts | None:
        """The experiment named ``name``, if the night has it."""
        return next((e for e in self.experiments if e.name == name), None)


def evidence_of(raw: Raw) -> PromptEvidence:
    """The typed evidence of one prompt, from the (redacted) evidence ``gather`` returned."""
    prod = raw.get("production")
    promo = raw.get("promotion")
    alerts = raw.get("alerts")
    return PromptEvidence(
        prompt=raw["prompt"],
        production=VersionRef(prod.get("hash"), prod.get("short")) if prod else None,
        candidates=tuple(map(CandidateFacts.of, raw.get("candidates") or ())),
        experiments=tuple(map(ExperimentFacts.of, raw.get("experiments") or ())),
        promotion=PromotionFacts.of(promo) if promo else None,
        holdbacks=tuple(Holdback(h["experiment"], tuple(h["variants"]))
                        for h in raw.get("holdbacks") or ()),
        alerts=None if alerts is None else tuple(map(Alert.of, alerts)))


# ------------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class Check:
    """One rule checked: ``fired``, ``passed`` or ``n/a``, on these numbers."""

    rule: str
    outcome: str
    numbers: str

    @property
    def fired(self) -> bool:
        """Whether the rule fired."""
        return self.outcome == FIRED


@dataclass(frozen=True)
class Outcome:
    """What a rule that decides says: the decision, the rule, why, days of data to wait."""

    decision: str
    rule: str
    summary: str
    days_more: float | None = None
    estimate: float | None = None  # the primary estimate of a PROMOTE (to rank winners)


@dataclass(frozen=True)
class Verdict:
    """The verdict on one candidate, with every rule checked."""

    hash: str
    short: str
    ref: str
    sources: tuple[str, ...]
    decision: str
    rule: str
    days_more: float | None
    summary: str
    checks: tuple[Check, ...]
    estimate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the stored ``details``); ``estimate`` only on a PROMOTE."""
        out: dict[str, Any] = {
            "hash": self.hash, "short": self.short, "ref": self.ref,
            "sources": list(self.sources), "decision": self.decision, "rule": self.rule,
            "days_more": self.days_more, "summary": self.summary}
        if self.decision == PROMOTE:
            out["estimate"] = self.estimate
        out["checks"] = [check_dict(c) for c in self.checks]
        return out


@dataclass(frozen=True)
class Other:
    """A candidate that did not decide, named beside the decision."""

    ref: str
    decision: str
    rule: str


@dataclass(frozen=True)
class Subject:
    """The version a decision is about."""

    hash: str | None
    short: str | None
    ref: str


@dataclass(frozen=True)
class Watch:
    """Production under watch after its promotion, nothing fired yet."""

    days_left: float
    days_more: float | None
    summary: str


@dataclass(frozen=True)
class ProductionVerdict:
    """The rollback rules checked for the production version."""

    fired: Check | None
    checks: tuple[Check, ...]
    watch: Watch | None


@dataclass(frozen=True)
class Decision:
    """A prompt's decision: kind, rule, subject, summary, days of data still needed, and every
    candidate's verdict with the rules checked."""

    decision: str
    rule: str
    summary: str
    subject: Subject
    days_more: float | None = None
    candidates: tuple[Verdict, ...] = ()
    production_checks: tuple[Check, ...] = ()
    others: tuple[Other, ...] = ()
    rollback_to: VersionRef | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out: dict[str, Any] = {
            "production_checks": [check_dict(c) for c in self.production_checks],
            "candidates": [v.to_dict() for v in self.candidates],
            "others": [{"ref": o.ref, "decision": o.decision, "rule": o.rule}
                       for o in self.others],
            "decision": self.decision, "rule": self.rule, "subject": subject_dict(self.subject)}
        if self.rollback_to is not None:
            out["rollback_to"] = {"hash": self.rollback_to.hash, "short": self.rollback_to.short}
        return out | {"summary": self.summary, "days_more": self.days_more}


def check_dict(check: Check) -> dict[str, str]:
    """A check as the report stores it."""
    return {"rule": check.rule, "outcome": check.outcome, "numbers": check.numbers}


def subject_dict(subject: Subject) -> dict[str, str | None]:
    """A subject as the report stores it."""
    return {"hash": subject.hash, "short": subject.short, "ref": subject.ref}


__all__ = [
    "FIRED", "HOLD", "NA", "PASSED", "PROMOTE", "REJECT", "ROLLBACK", "Alert", "ArmRef",
    "CandidateFacts", "Check", "Decision", "Effect", "ExperimentFacts", "GuardrailResult",
    "Holdback", "Integrity", "OfflineComparison", "Other", "Outcome", "ProductionVerdict",
    "PromotionFacts", "PromptEvidence", "SamplePlan", "Subject", "Verdict", "VersionRef",
    "Watch", "check_dict", "evidence_of", "subject_dict",
]
