"""The sentences of the decision rules, built from typed results (the rules decide, these
only say it). Plain text: the templates escape it."""

from __future__ import annotations

from collections.abc import Iterable

from flywheel.tasks.ab import METRICS
from flywheel.tasks.fmt import ci, days, pct, pts, pval, rate
from flywheel.tasks.reports._model import (
    Alert,
    Effect,
    ExperimentFacts,
    GuardrailResult,
    Integrity,
    OfflineComparison,
    SamplePlan,
)


def effect(row: Effect | None) -> str:
    """An effect with its interval, p-values and status, or why there is none."""
    if row is None or row.estimate is None:
        return "no estimate yet" + (f" ({row.error})" if row and row.error else "")
    return (f"{pct(row.estimate)} {ci(row.ci_low, row.ci_high)}, p = {pval(row.p_value)}, "
            f"adjusted p = {pval(row.p_value_adjusted)}, status {row.status}")


def guardrails(guards: Iterable[GuardrailResult], none: str) -> str:
    """Each guardrail's change, interval, margin and status; ``none`` when there is none."""
    return "; ".join(
        f"{g.metric} {pct(g.estimate)} {ci(g.ci_low, g.ci_high)} vs margin "
        f"{'+' if g.worse_if == 'increase' else '−'}{g.max_relative_change:.0%}: {g.status}"
        for g in guards) or none


def worse_guardrails(guards: Iterable[GuardrailResult]) -> str:
    """Guardrails significantly worse and not shown within their margin, with the units that
    would show the margin if the effect stays at its estimate."""
    parts = []
    for g in guards:
        sign = "+" if g.worse_if == "increase" else "−"
        if g.units_to_show_margin is None:
            more = ("no sample shows it while the estimate is beyond the margin"
                    if g.estimate is not None and g.units_so_far is not None
                    else "the sample that would show it is not known")
        else:
            more = (f"{g.units_to_show_margin:,} {g.unit} in the two arms would show it "
                    f"({g.units_so_far or 0:,} so far) if the effect stays at its estimate")
        parts.append(f"{g.metric} {pct(g.estimate)} {ci(g.ci_low, g.ci_high)} is significantly "
                     f"worse and not shown within its margin {sign}{g.max_relative_change:.0%}: "
                     f"{more}")
    return "; ".join(parts)


def cost_per_success(exp: ExperimentFacts, variant: str) -> str:
    """``; cost per successful answer $a → $b (+x%)``: cost per request over the primary
    metric's rate when the primary is a rate that is better higher (thumbs up), else ''."""
    cost = exp.effect("cost_per_request", variant)
    success = exp.effect(exp.primary_metric, variant)
    spec = METRICS.get(exp.primary_metric)
    if spec is None or spec.lower_is_better or not spec.name.endswith("_rate") or cost is None \
            or success is None:
        return ""
    means = (cost.control_mean, cost.treatment_mean, success.control_mean, success.treatment_mean)
    if any(m is None or m <= 0 for m in means):
        return ""
    c_a, c_b, s_a, s_b = means  # type: ignore[misc]
    before, after = c_a / s_a, c_b / s_b  # type: ignore[operator]
    return (f"; cost per successful answer (cost per request / {exp.primary_metric}) "
            f"${before:.6f} → ${after:.6f} ({pct(after / before - 1)}), with cost per request "
            f"{pct(cost.estimate)}")


def interval_text(guards: Iterable[GuardrailResult]) -> str:
    """Guardrails by their change and interval only (``latency_p95_ms +2.0% [..]``)."""
    return ", ".join(f"{g.metric} {pct(g.estimate)} {ci(g.ci_low, g.ci_high)}" for g in guards)


def offline(ev: OfflineComparison, significant_rule: bool, max_drop: float | None) -> str:
    """One offline comparison and the limits the offline rule applies to it."""
    low, high = ev.pass_rate_diff_ci
    text = (f"eval set {ev.evalset}: pass rate {rate(ev.baseline_pass_rate)} → "
            f"{rate(ev.candidate_pass_rate)} on {ev.paired_cases} cases "
            f"({pts(ev.pass_rate_diff)}, 95% CI {ci(low, high, 'pts')} pts); McNemar p = "
            f"{pval(ev.mcnemar_p_value)}, {ev.regressions} regressions / "
            f"{ev.improvements} improvements")
    limits = []
    if significant_rule:
        limits.append("fires when the interval is below 0")
    if max_drop is not None:
        limits.append(f"or the drop is at least {max_drop * 100:.0f} pts")
    text += f" ({' '.join(limits) or 'disabled'})"
    return text + ("; made with flywheel's demo model" if ev.demo_model else "")


def integrity(c: Integrity) -> str:
    """The integrity checks with their thresholds and what failed."""
    return (f"SRM p = {pval(c.srm_p_value)} (fails below {pval(c.srm_threshold)}), assignment "
            f"mismatch {rate(c.assignment_mismatch_share, 2)} (max "
            f"{rate(c.max_mismatch_share, 2)}), users in several arms {c.multi_arm_users:,}; "
            f"failed: {', '.join(c.failed) or 'none'}")


def futility(plan: SamplePlan, factor: float, primary_metric: str, row: Effect | None) -> str:
    """How far the sample is from the futility horizon."""
    return (f"{plan.so_far:,} {plan.unit} of {factor:g} × {plan.needed:,} planned; "
            f"{primary_metric} {effect(row)}")


def min_run_left(left: float, min_days: float, ran: float) -> str:
    """Days still to the minimum run time."""
    return f"{days(left)} to the minimum run time of {days(min_days)} (ran {days(ran)})"


def sample_left(plan: SamplePlan, sample_days: float | None) -> str:
    """Units still to the planned sample, at the current rate."""
    assert plan.needed is not None
    more = plan.needed - plan.so_far
    rate_text = (f" at {plan.new_units_per_day:,.0f} new {plan.unit}/day"
                 if plan.new_units_per_day else "")
    return (f"{more:,} more {plan.unit} ({plan.so_far:,} of {plan.needed:,} for "
            f"{plan.target_power:.0%} power at MDE {plan.mde:.0%}){rate_text}"
            + (f", ~{days(sample_days)}" if sample_days is not None else ", rate unknown"))


def futility_wait(more: float, unit: str, factor: float, wait: float) -> str:
    """The planned sample reached: units still to the futility horizon."""
    return (f"the planned sample is reached without a significant effect; {more:,.0f} more "
            f"{unit} to {factor:g} × the plan, where reject.futility decides, ~{days(wait)}")


def win(exp: ExperimentFacts, where: str, row: Effect,
        caution: tuple[GuardrailResult, ...]) -> str:
    """The summary of a PROMOTE."""
    text = (f"{exp.primary_metric} {pct(row.estimate)} {ci(row.ci_low, row.ci_high)} in "
            f"{where}, adjusted p = {pval(row.p_value_adjusted)}, after "
            f"{days(exp.days_running)}")
    if caution:
        text += "; guardrail(s) not yet shown safe: " + interval_text(caution)
    return text


def alerts(hits: list[Alert], severity: str, since: str) -> str:
    """Up to three alerts, or that there was none since the promotion."""
    return ("; ".join(f"{a.run_date} {a.severity} {a.metric}: {a.message}" for a in hits[:3])
            or f"no {severity} drift alert on the production version since {since}")


def window_effect(metric: str, row: Effect | None, alpha: float, min_drop: float) -> str:
    """A metric after against before the promotion, and when that fires."""
    if row is None or row.estimate is None:
        return f"{metric} after vs before the promotion: no estimate"
    limit = f" and by at least {min_drop:.0%}" if min_drop else ""
    return (f"{metric} after vs before the promotion: {pct(row.estimate)} "
            f"{ci(row.ci_low, row.ci_high)}, p = {pval(row.p_value)} (fires when worse with "
            f"p < {alpha:g}{limit})")


def watching(to_hash: str, from_hash: str, since: float, sizes: str, left: float) -> str:
    """Production watched, no regression so far."""
    return (f"production {to_hash[:12]} promoted {days(since)} ago: no regression against "
            f"{from_hash[:12]} so far ({sizes}); watched {days(left)} more")
