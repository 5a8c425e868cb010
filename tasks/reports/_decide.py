"""The decision rules (docs/decisions.md) applied to a prompt's typed evidence.

Every rule is checked and recorded with the numbers it looked at (``fired``, ``passed`` or
``n/a``), so the report can show not only the rule that decided but why the others did not.
Each rule is one small function in an ordered table (``REJECT_RULES``, ``ROLLBACK_RULES``);
its sentence comes from ``_sentences``.

Order, per prompt:

1. **ROLLBACK** when a rollback rule fires for the production version (it regressed against
   the version it replaced, a guardrail broke after its promotion, a critical monitoring alert,
   or an experiment where production is a treatment shows it significantly worse).
2. Otherwise each candidate gets a verdict, its rules in this order: the REJECT rules (offline
   regression, online significantly worse, failed guardrail, no effect at a multiple of the
   planned sample), then HOLD for an untrustworthy experiment (it can never lead to PROMOTE) or
   a control that is not production, then PROMOTE (the experiment's primary metric
   significantly better after the minimum run time, no blocking guardrail), else HOLD with the
   days of data still needed at current traffic.
3. The prompt's decision: PROMOTE if a candidate is promoted (the best primary estimate), else
   HOLD if a candidate is held (the one needing the fewest days), else REJECT; a prompt with no
   candidate, only a production version under watch, is HOLD.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flywheel.tasks.ab import METRICS, Guardrail, guardrail_status
from flywheel.tasks.fmt import days
from flywheel.tasks.reports import _sentences as say
from flywheel.tasks.reports._model import (
    FIRED,
    HOLD,
    NA,
    PASSED,
    PROMOTE,
    REJECT,
    ROLLBACK,
    CandidateFacts,
    Check,
    Decision,
    Effect,
    ExperimentFacts,
    GuardrailResult,
    Other,
    Outcome,
    ProductionVerdict,
    PromotionFacts,
    PromptEvidence,
    Subject,
    Verdict,
    VersionRef,
    Watch,
)
from flywheel.tasks.reports._rules import DecisionRules, RollbackRules

Found = list[tuple[str, str]]  # (outcome, numbers) per check a rule makes
NO_EXPERIMENT = "no online experiment serves this candidate"
UNTRUSTED = "n/a: the experiment is untrustworthy"
ONLINE_DECIDING = ("hold.untrustworthy", "hold.guardrail_worse", "promote.online_win")
COST_METRIC = "cost_per_request"


def _outcome(fired: bool) -> str:
    return FIRED if fired else PASSED


# ------------------------------------------------------------------------------ candidate


@dataclass(frozen=True)
class Case:
    """One candidate, the experiment arm that serves it (if any) and the rules."""

    candidate: CandidateFacts
    exp: ExperimentFacts | None
    variant: str
    rules: DecisionRules

    @property
    def primary(self) -> Effect | None:
        """The primary metric's row of the candidate's arm."""
        return self.exp.effect(self.exp.primary_metric, self.variant) if self.exp else None

    @property
    def significant(self) -> bool:
        """Whether the primary metric is significant."""
        return bool(self.primary and self.primary.status == "significant")

    @property
    def better(self) -> bool:
        """Whether the primary metric moved the good way."""
        return bool(self.primary and self.primary.direction == "better")

    @property
    def guards(self) -> tuple[GuardrailResult, ...]:
        """The guardrails of the candidate's arm, with ``promote.cost_guardrail`` on
        cost_per_request when the rules declare it and the experiment file does not."""
        if self.exp is None:
            return ()
        declared = self.exp.guardrails_of(self.variant)
        margin = self.rules.promote.cost_guardrail
        if margin is None or any(g.metric == COST_METRIC for g in declared):
            return declared
        return (*declared, cost_guardrail(self.exp.effect(COST_METRIC, self.variant), margin,
                                          self.variant))

    @property
    def where(self) -> str:
        """``experiment E, arm V``."""
        return f"experiment {self.exp.name if self.exp else '?'}, arm {self.variant}"

    def online_gate(self, enabled: bool) -> str | None:
        """Why an online reject rule does not apply, or None when it does."""
        if self.exp is None:
            return NO_EXPERIMENT
        if not enabled:
            return "disabled in the rules"
        return None if self.exp.trustworthy else UNTRUSTED


def cost_guardrail(row: Effect | None, margin: float, variant: str) -> GuardrailResult:
    """cost_per_request judged as a guardrail (worse if it increases by more than ``margin``)
    on its row of the A/B analysis, by the analysis' own guardrail verdict."""
    raw = None if row is None else {"estimate": row.estimate, "ci_low": row.ci_low,
                                    "ci_high": row.ci_high, "relative": row.relative}
    verdict = guardrail_status(Guardrail(COST_METRIC, "increase", margin), raw)
    return GuardrailResult.of({**verdict, "variant": variant})


def _offline_regression(case: Case) -> Found:
    rules = case.rules.reject
    if not case.candidate.evals:
        return [(NA, "no offline eval of this candidate against production")]
    out = []
    for ev in case.candidate.evals:
        high, diff = ev.pass_rate_diff_ci[1], ev.pass_rate_diff
        significant = rules.offline_significant_regression and high is not None and high < 0
        max_drop = rules.offline_max_pass_rate_drop
        too_big = max_drop is not None and diff is not None and -diff >= max_drop - 1e-12
        out.append((_outcome(significant or too_big),
                    say.offline(ev, rules.offline_significant_regression, max_drop)))
    return out


def _online_worse(case: Case) -> Found:
    gate = case.online_gate(case.rules.reject.online_significant_worse)
    if gate or case.exp is None:
        return [(NA, gate or NO_EXPERIMENT)]
    return [(_outcome(case.significant and not case.better),
             f"{case.where}: {case.exp.primary_metric} {say.effect(case.primary)}")]


def _guardrail_fail(case: Case) -> Found:
    gate = case.online_gate(case.rules.reject.guardrail_fail)
    if gate:
        return [(NA, gate)]
    text = say.guardrails(case.guards, "no guardrails in the experiment file")
    return [(_outcome(any(g.status == "fail" for g in case.guards)), f"{case.where}: {text}")]


def _futility(case: Case) -> Found:
    factor = case.rules.reject.futility_sample_factor
    gate = case.online_gate(factor is not None)
    if gate or case.exp is None or factor is None:
        return [(NA, gate or NO_EXPERIMENT)]
    plan = case.exp.sample
    if plan.needed is None:
        return [(NA, "no planned sample size yet")]
    reached = plan.so_far >= factor * plan.needed
    return [(_outcome(reached and not case.significant),
             say.futility(plan, factor, case.exp.primary_metric, case.primary))]


REJECT_RULES: tuple[tuple[str, Callable[[Case], Found]], ...] = (
    ("reject.offline_regression", _offline_regression),
    ("reject.online_worse", _online_worse),
    ("reject.guardrail_fail", _guardrail_fail),
    ("reject.futility", _futility),
)


def hold_days(exp: ExperimentFacts, rules: DecisionRules) -> tuple[float | None, str]:
    """Days of data still needed at current traffic, and the sentence saying why."""
    plan = exp.sample
    left_min = max(0.0, rules.promote.min_days - exp.days_running)
    parts = []
    if left_min > 0:
        parts.append(say.min_run_left(left_min, rules.promote.min_days, exp.days_running))
    sample_days = plan.days_remaining
    if plan.needed is not None and not plan.reached:
        parts.append(say.sample_left(plan, sample_days))
    elif plan.needed is None:
        parts.append(f"sample size unknown ({plan.note or 'no estimate yet'})")
    else:  # planned sample reached without a decision: wait for the futility horizon
        factor = rules.reject.futility_sample_factor
        sample_days = None
        if factor is not None and plan.new_units_per_day:
            more = max(0.0, factor * plan.needed - plan.so_far)
            sample_days = more / plan.new_units_per_day
            parts.append(say.futility_wait(more, plan.unit, factor, sample_days))
        else:
            parts.append("the planned sample is reached without a significant effect")
    waits = [d for d in (left_min if left_min > 0 else None, sample_days) if d is not None]
    need = max(waits) if waits else None
    if need is not None and need <= 0:
        need = None
    return need, "; ".join(parts) or "the planned sample is reached"


def _untrustworthy(case: Case, exp: ExperimentFacts) -> tuple[list[Check], Outcome | None]:
    text = say.integrity(exp.checks)
    check = Check("hold.untrustworthy", _outcome(not exp.trustworthy),
                  f"experiment {exp.name}: {text}")
    if not check.fired:
        return [check], None
    return [check, Check("promote.online_win", NA, "never on an untrustworthy experiment")], \
        Outcome(HOLD, "hold.untrustworthy", f"experiment {exp.name} is untrustworthy ({text}): "
                "more data will not fix it; fix the assignment or logging and restart the "
                "experiment")


def _control_not_production(case: Case, exp: ExperimentFacts
                            ) -> tuple[list[Check], Outcome | None]:
    if exp.control_is_production:
        return [], None
    return [Check("promote.online_win", NA, "the control arm does not serve production")], \
        Outcome(HOLD, "hold.control_not_production", f"the control of experiment {exp.name} "
                f"served {(exp.control_hash or 'an unknown version')[:12]}, not the "
                "production version: the experiment does not compare the candidate with "
                "production")


def _not_yet(case: Case, exp: ExperimentFacts, blocked: tuple[GuardrailResult, ...],
             long_enough: bool) -> Outcome:
    """HOLD after a check of promote.online_win that did not fire."""
    need, why = hold_days(exp, case.rules)
    effect = f"{exp.primary_metric} {say.effect(case.primary)}"
    if not (case.significant and case.better):
        return Outcome(HOLD, "hold.collecting", f"{case.where}: {effect}; still needed: {why}",
                       need)
    min_days = case.rules.promote.min_days
    if not long_enough:
        reason = (f"significant after {days(exp.days_running)}, but the minimum run time is "
                  f"{days(min_days)}")
        need = min_days - exp.days_running
    elif blocked:
        reason = "significant, but guardrail(s) " + ", ".join(
            f"{g.metric} {g.status}" for g in blocked) + " block the promotion"
    else:
        reason = "significant, but no offline eval of the candidate yet (required)"
        need = None
    return Outcome(HOLD, "hold.collecting", f"{case.where}: {reason}; {effect}", need)


def _eligible(case: Case, exp: ExperimentFacts) -> tuple[bool, tuple[GuardrailResult, ...], bool]:
    """(whether promote.online_win's conditions are met, the guardrails that block it, whether
    the minimum run time is reached)."""
    promote = case.rules.promote
    blocking = {"fail"} if promote.guardrails_block_on == "fail" else {"fail", "inconclusive"}
    blocked = tuple(g for g in case.guards if g.status in blocking)
    long_enough = exp.days_running >= promote.min_days
    missing_eval = promote.require_offline_eval and not case.candidate.evals
    won = case.significant and case.better and long_enough and not blocked and not missing_eval
    return won, blocked, long_enough


def _guardrail_worse(case: Case, exp: ExperimentFacts) -> tuple[list[Check], Outcome | None]:
    """HOLD a candidate that would be promoted while one of its guardrails is significantly
    worse and not shown within its margin: the promotion waits for the units that would show
    the margin (if the effect stays at its estimate)."""
    if not case.rules.promote.hold_on_significantly_worse_guardrail:
        return [Check("hold.guardrail_worse", NA, "disabled in the rules")], None
    worse = tuple(g for g in case.guards if g.significantly_worse and g.status == "inconclusive")
    numbers = f"{case.where}: " + (say.worse_guardrails(worse) if worse else
                                   "no guardrail is significantly worse and unproven")
    if not _eligible(case, exp)[0]:
        return [Check("hold.guardrail_worse", PASSED if not worse else NA,
                      numbers + ("" if not worse else "; the candidate has not won yet"))], None
    check = Check("hold.guardrail_worse", _outcome(bool(worse)), numbers)
    if not worse:
        return [check], None
    return [check, Check("promote.online_win", NA, "held: a guardrail is significantly worse")], \
        Outcome(HOLD, "hold.guardrail_worse",
                f"{numbers}; {exp.primary_metric} {say.effect(case.primary)}"
                + say.cost_per_success(exp, case.variant), _days_to_margins(worse, exp))


def _days_to_margins(guards: tuple[GuardrailResult, ...], exp: ExperimentFacts) -> float | None:
    """Days at current traffic to the largest sample that would show the margins: new users per
    day for users, requests so far per day running for requests (None when a margin cannot be
    shown or no rate is known)."""
    waits = []
    for g in guards:
        if g.units_to_show_margin is None or g.units_so_far is None:
            return None
        if g.unit == exp.sample.unit and exp.sample.new_units_per_day:
            rate = exp.sample.new_units_per_day
        elif g.unit == "requests" and exp.days_running > 0:
            rate = g.units_so_far / exp.days_running
        else:
            return None
        waits.append(max(0.0, g.units_to_show_margin - g.units_so_far) / rate)
    return max(waits) if waits else None


def _online_win(case: Case, exp: ExperimentFacts) -> tuple[list[Check], Outcome | None]:
    promote = case.rules.promote
    won, blocked, long_enough = _eligible(case, exp)
    text = (f"{case.where}: {exp.primary_metric} {say.effect(case.primary)}; ran "
            f"{days(exp.days_running)} of at least {days(promote.min_days)}; guardrails: "
            f"{say.guardrails(case.guards, 'no guardrails in the experiment file')}"
            + say.cost_per_success(exp, case.variant))
    check = Check("promote.online_win", _outcome(won), text)
    if not won or case.primary is None:
        return [check], _not_yet(case, exp, blocked, long_enough)
    caution = tuple(g for g in case.guards if g.status == "inconclusive")
    return [check], Outcome(PROMOTE, "promote.online_win",
                            say.win(exp, case.where, case.primary, caution)
                            + say.cost_per_success(exp, case.variant),
                            estimate=case.primary.estimate)


DECIDING_RULES = (_untrustworthy, _control_not_production, _guardrail_worse, _online_win)


def _online_outcome(case: Case) -> tuple[list[Check], Outcome]:
    """The HOLD / PROMOTE rules, in order, once no REJECT rule fired."""
    if case.exp is None:
        return [Check(rule, NA, NO_EXPERIMENT) for rule in ONLINE_DECIDING], Outcome(
            HOLD, "hold.no_experiment", "no online experiment serves this candidate yet: "
            f"start one with {case.candidate.ref} as a treatment against production")
    checks: list[Check] = []
    for rule in DECIDING_RULES:
        found, outcome = rule(case, case.exp)
        checks += found
        if outcome is not None:
            return checks, outcome
    raise AssertionError("promote.online_win always decides")


JUDGE_NOT_CALIBRATED = "judge not calibrated"


def _judge_calibrated(candidate: CandidateFacts) -> list[Check]:
    """hold.judge_not_calibrated: an offline eval rests on an llm-rubric judge whose latest
    agreement with people (Cohen's kappa) is below judge_min_kappa (docs/evals.md). No check
    when no judge of the candidate's evals was ever calibrated (nothing measured)."""
    rows = [(ev, j) for ev in candidate.evals for j in ev.judge]
    if not rows:
        return []
    bad = [(ev, j) for ev, j in rows if not j.calibrated]
    text = "; ".join(
        f"eval set {ev.evalset}: rubric {j.rubric!r} kappa "
        f"{'n/a' if j.kappa is None else format(j.kappa, '.2f')} (n={j.n}, at least "
        f"{j.min_kappa:g})" for ev, j in (bad or rows))
    return [Check("hold.judge_not_calibrated", _outcome(bool(bad)),
                  f"{JUDGE_NOT_CALIBRATED}: {text}" if bad else text)]


def judge_candidate(candidate: CandidateFacts, evidence: PromptEvidence,
                    rules: DecisionRules) -> Verdict:
    """The verdict on one candidate: PROMOTE, HOLD or REJECT, the rule, the rules checked."""
    arm = candidate.arms[0] if candidate.arms else None
    case = Case(candidate, evidence.experiment(arm.experiment) if arm else None,
                arm.variant if arm else "", rules)
    checks = [Check(name, outcome, numbers) for name, rule in REJECT_RULES
              for outcome, numbers in rule(case)]
    calibration = _judge_calibrated(candidate)
    held = next((c for c in calibration if c.fired), None)
    fired = next((c for c in checks if c.fired), None)
    if held is not None:  # the offline evidence itself is in doubt: neither reject nor promote
        found = [*calibration, *(Check(rule, NA, JUDGE_NOT_CALIBRATED)
                                 for rule in ONLINE_DECIDING)]
        outcome = Outcome(HOLD, held.rule, held.numbers)
    elif fired is None:
        found, outcome = _online_outcome(case)
        found = [*calibration, *found]
    else:
        why = NO_EXPERIMENT if case.exp is None else "a reject rule fired"
        found = [*calibration, *(Check(rule, NA, why) for rule in ONLINE_DECIDING)]
        outcome = Outcome(REJECT, fired.rule, fired.numbers)
    return Verdict(candidate.hash, candidate.short, candidate.ref, candidate.sources,
                   outcome.decision, outcome.rule, outcome.days_more, outcome.summary,
                   (*checks, *found), outcome.estimate)


# ------------------------------------------------------------------------------ rollback


@dataclass(frozen=True)
class Watched:
    """Production since its promotion, with the rollback rules and the rest of the evidence."""

    promo: PromotionFacts
    rules: RollbackRules
    evidence: PromptEvidence

    @property
    def enough(self) -> bool:
        """Whether both windows have the users the rules ask for."""
        return min(self.promo.users_before, self.promo.users_after) >= self.rules.min_users

    @property
    def sizes(self) -> str:
        """The window sizes and the minimum."""
        return (f"{self.promo.users_before:,} users before, {self.promo.users_after:,} after "
                f"(at least {self.rules.min_users:,} each)")


def _post_promotion_metric(w: Watched) -> Found:
    r = w.rules
    if not w.enough:
        return [(NA, f"not enough data yet: {w.sizes}")]
    row = next((m for m in w.promo.metrics if m.metric == r.metric), None)
    est = row.estimate if row else None
    drop = est is not None and (est > 0 if METRICS[r.metric].lower_is_better else est < 0)
    fired = (drop and row is not None and row.p_value is not None and row.p_value < r.alpha
             and est is not None and abs(est) >= r.min_relative_drop)
    return [(_outcome(fired), say.window_effect(r.metric, row, r.alpha, r.min_relative_drop)
             + f"; {w.sizes}")]


def _post_promotion_guardrail(w: Watched) -> Found:
    guards = w.promo.guardrails
    if not guards:
        return [(NA, "no rollback guardrails in the rules")]
    if not w.enough:
        return [(NA, f"not enough data yet: {w.sizes}")]
    return [(_outcome(any(g.status == "fail" for g in guards)),
             f"after vs before the promotion: {say.guardrails(guards, '')}")]


def _monitoring_alert(w: Watched) -> Found:
    r, alerts = w.rules, w.evidence.alerts
    if r.alert_severity is None:
        return [(NA, "disabled in the rules")]
    if alerts is None:
        return [(NA, "no monitoring in this store")]
    watched = {r.metric, *(g.metric for g in r.guardrails)}
    since = w.promo.moved_at[:10]
    hits = [a for a in alerts if a.prompt_hash == w.promo.to_hash and a.run_date >= since
            and a.kind == "drift" and a.severity == r.alert_severity and a.metric in watched]
    return [(_outcome(bool(hits)), say.alerts(hits, r.alert_severity, since))]


def _experiment_regression(w: Watched) -> Found:
    if not w.evidence.holdbacks:
        return [(NA, "no experiment compares production with the version it replaced")]
    out = []
    for hb in w.evidence.holdbacks:
        exp = w.evidence.experiment(hb.experiment)
        assert exp is not None
        for variant in hb.variants:
            primary = exp.effect(exp.primary_metric, variant)
            worse = bool(exp.trustworthy and primary and primary.status == "significant"
                         and primary.direction == "worse")
            out.append((_outcome(worse), f"experiment {exp.name}: production (arm {variant}) "
                        f"vs the replaced version (arm {exp.control}): {exp.primary_metric} "
                        f"{say.effect(primary)}"
                        + ("" if exp.trustworthy else "; the experiment is untrustworthy")))
    return out


ROLLBACK_RULES: tuple[tuple[str, Callable[[Watched], Found]], ...] = (
    ("rollback.post_promotion_metric", _post_promotion_metric),
    ("rollback.post_promotion_guardrail", _post_promotion_guardrail),
    ("rollback.monitoring_alert", _monitoring_alert),
    ("rollback.experiment_regression", _experiment_regression),
)


def _watch(w: Watched) -> Watch:
    promo, r = w.promo, w.rules
    remaining = max(0.0, r.watch_days - promo.days_since)
    need = None
    if not w.enough:
        after_rate = promo.users_after / max(promo.days_since, 1e-9)
        if after_rate > 0 and promo.users_after < r.min_users:
            need = (r.min_users - promo.users_after) / after_rate
    if need is None and remaining > 0:
        need = remaining
    return Watch(remaining, need, say.watching(promo.to_hash, promo.from_hash,
                                               promo.days_since, w.sizes, remaining))


def judge_production(evidence: PromptEvidence, rules: DecisionRules) -> ProductionVerdict:
    """The rollback rules for the production version; ``fired`` is the first that fired."""
    r = rules.rollback
    if evidence.promotion is None:
        why = f"production was not promoted in the last {r.watch_days:g} days"
        return ProductionVerdict(None, tuple(Check(name, NA, why) for name, _ in ROLLBACK_RULES),
                                 None)
    w = Watched(evidence.promotion, r, evidence)
    checks = tuple(Check(name, outcome, numbers) for name, rule in ROLLBACK_RULES
                   for outcome, numbers in rule(w))
    fired = next((c for c in checks if c.fired), None)
    return ProductionVerdict(fired, checks, None if fired else _watch(w))


# -------------------------------------------------------------------------------- prompt


def _others(verdicts: list[Verdict], best: Verdict | None = None) -> tuple[Other, ...]:
    return tuple(Other(v.ref, v.decision, v.rule) for v in verdicts if v is not best)


def _lower_better(verdict: Verdict, evidence: PromptEvidence) -> bool:
    """Whether the primary metric of the candidate's experiment is better when lower."""
    candidate = next(c for c in evidence.candidates if c.hash == verdict.hash)
    if not candidate.arms:
        return False
    exp = evidence.experiment(candidate.arms[0].experiment)
    assert exp is not None
    return METRICS[exp.primary_metric].lower_is_better


def _best(kind: str, chosen: list[Verdict], evidence: PromptEvidence) -> Verdict:
    """The candidate that decides among those of one kind."""
    if kind == PROMOTE:
        return max(chosen, key=lambda v: (-1.0 if _lower_better(v, evidence) else 1.0)
                   * (v.estimate or 0.0))
    if kind == HOLD:
        return min(chosen, key=lambda v: (v.days_more is None, v.days_more or 0.0, v.ref))
    return chosen[0]


def decide(evidence: PromptEvidence, rules: DecisionRules) -> Decision:
    """The prompt's decision: kind, rule, subject, summary, days of data still needed, and every
    candidate's verdict with the rules checked."""
    production = judge_production(evidence, rules)
    verdicts = [judge_candidate(c, evidence, rules) for c in evidence.candidates]
    prod = evidence.production or VersionRef(None, None)
    watching = Subject(prod.hash, prod.short, f"{evidence.prompt}@production")
    common = {"candidates": tuple(verdicts), "production_checks": production.checks}
    if production.fired and evidence.promotion:
        promo, fired = evidence.promotion, production.fired
        return Decision(ROLLBACK, fired.rule, f"production {prod.short} regressed against "
                        f"{promo.from_short}: {fired.numbers}", watching, None, **common,
                        others=_others(verdicts),
                        rollback_to=VersionRef(promo.from_hash, promo.from_short))
    for kind in (PROMOTE, HOLD, REJECT):
        chosen = [v for v in verdicts if v.decision == kind]
        if chosen:
            best = _best(kind, chosen, evidence)
            return Decision(kind, best.rule, f"{best.ref}: {best.summary}",
                            Subject(best.hash, best.short, best.ref), best.days_more, **common,
                            others=_others(verdicts, best))
    watch = production.watch
    return Decision(HOLD, "hold.watching",
                    watch.summary if watch else "no candidate and nothing to decide", watching,
                    watch.days_more if watch else None, **common, others=_others(verdicts))
