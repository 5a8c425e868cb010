"""The decision rules (docs/decisions.md) applied to a prompt's evidence.

Every rule is checked and recorded with the numbers it looked at (``fired``, ``passed`` or
``n/a``), so the report can show not only the rule that decided but why the others did not.

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

from typing import Any

from flywheel.tasks.ab import METRICS
from flywheel.tasks.reports.fmt import ci, days, pct, pts, pval, rate
from flywheel.tasks.reports.rules import DecisionRules

PROMOTE, HOLD, REJECT, ROLLBACK = "PROMOTE", "HOLD", "REJECT", "ROLLBACK"
FIRED, PASSED, NA = "fired", "passed", "n/a"


class _Checks:
    """The rules checked for one subject, in order."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, rule: str, outcome: str, numbers: str) -> bool:
        self.items.append({"rule": rule, "outcome": outcome, "numbers": numbers})
        return outcome == FIRED

    def first_fired(self, prefix: str) -> dict[str, Any] | None:
        return next((c for c in self.items
                     if c["outcome"] == FIRED and c["rule"].startswith(prefix)), None)


def _row(metrics: list[dict[str, Any]], metric: str, variant: str) -> dict[str, Any] | None:
    return next((m for m in metrics if m["metric"] == metric and m["variant"] == variant), None)


def _effect(row: dict[str, Any] | None) -> str:
    if not row or row.get("estimate") is None:
        return "no estimate yet" + (f" ({row['error']})" if row and row.get("error") else "")
    return (f"{pct(row['estimate'])} {ci(row['ci_low'], row['ci_high'])}, p = "
            f"{pval(row['p_value'])}, adjusted p = {pval(row.get('p_value_adjusted'))}, "
            f"status {row['status']}")


# ------------------------------------------------------------------------------- offline


def _offline_checks(checks: _Checks, candidate: dict[str, Any], rules: DecisionRules) -> None:
    rule = "reject.offline_regression"
    evals = candidate.get("evals") or []
    if not evals:
        checks.add(rule, NA, "no offline eval of this candidate against production")
        return
    max_drop = rules.reject.offline_max_pass_rate_drop
    for ev in evals:
        c = ev["comparison"]
        diff, (low, high) = c.get("pass_rate_diff"), (c.get("pass_rate_diff_ci") or [None, None])
        mc = c.get("mcnemar") or {}
        significant = (rules.reject.offline_significant_regression and high is not None
                       and high < 0)
        too_big = max_drop is not None and diff is not None and -diff >= max_drop - 1e-12
        numbers = (f"eval set {ev['evalset']}: pass rate {rate(c.get('baseline_pass_rate'))} → "
                   f"{rate(c.get('candidate_pass_rate'))} on {c.get('paired_cases')} cases "
                   f"({pts(diff)}, 95% CI {ci(low, high, 'pts')} pts); McNemar p = "
                   f"{pval(mc.get('p_value'))}, {mc.get('regressions', 0)} regressions / "
                   f"{mc.get('improvements', 0)} improvements")
        limits = []
        if rules.reject.offline_significant_regression:
            limits.append("fires when the interval is below 0")
        if max_drop is not None:
            limits.append(f"or the drop is at least {max_drop * 100:.0f} pts")
        numbers += f" ({' '.join(limits) or 'disabled'})"
        if ev.get("demo_model"):
            numbers += "; made with flywheel's demo model"
        checks.add(rule, FIRED if significant or too_big else PASSED, numbers)


# ------------------------------------------------------------------------------- online


def _hold_days(exp: dict[str, Any], rules: DecisionRules) -> tuple[float | None, str]:
    """Days of data still needed at current traffic, and the sentence saying why."""
    plan = exp["sample"]
    left_min = max(0.0, rules.promote.min_days - exp["days_running"])
    parts = []
    if left_min > 0:
        parts.append(f"{days(left_min)} to the minimum run time of "
                     f"{days(rules.promote.min_days)} (ran {days(exp['days_running'])})")
    sample_days = plan.get("days_remaining")
    if plan.get("needed") is not None and not plan.get("reached"):
        more = plan["needed"] - plan["so_far"]
        rate_text = (f" at {plan['new_units_per_day']:,.0f} new {plan['unit']}/day"
                     if plan.get("new_units_per_day") else "")
        parts.append(f"{more:,} more {plan['unit']} ({plan['so_far']:,} of {plan['needed']:,} "
                     f"for {plan['target_power']:.0%} power at MDE {plan['mde']:.0%})"
                     f"{rate_text}" + (f", ~{days(sample_days)}" if sample_days is not None
                                       else ", rate unknown"))
    elif plan.get("needed") is None:
        parts.append(f"sample size unknown ({plan.get('note') or 'no estimate yet'})")
    else:  # planned sample reached without a decision: wait for the futility horizon
        factor = rules.reject.futility_sample_factor
        rate_per_day = plan.get("new_units_per_day")
        sample_days = None
        if factor is not None and rate_per_day:
            more = max(0.0, factor * plan["needed"] - plan["so_far"])
            sample_days = more / rate_per_day
            parts.append(f"the planned sample is reached without a significant effect; "
                         f"{more:,.0f} more {plan['unit']} to {factor:g} × the plan, where "
                         f"reject.futility decides, ~{days(sample_days)}")
        else:
            parts.append("the planned sample is reached without a significant effect")
    candidates = [d for d in (left_min if left_min > 0 else None, sample_days) if d is not None]
    need = max(candidates) if candidates else None
    if need is not None and need <= 0:
        need = None
    return need, "; ".join(parts) or "the planned sample is reached"


def _online(checks: _Checks, candidate: dict[str, Any], exp: dict[str, Any] | None,
            variant: str | None, rules: DecisionRules) -> dict[str, Any] | None:
    """The online rules for one candidate; returns the HOLD/PROMOTE outcome (REJECT rules are
    recorded in ``checks``)."""
    if exp is None or variant is None:
        for rule in ("reject.online_worse", "reject.guardrail_fail", "reject.futility",
                     "hold.untrustworthy", "promote.online_win"):
            checks.add(rule, NA, "no online experiment serves this candidate")
        return {"decision": HOLD, "rule": "hold.no_experiment", "days_more": None,
                "summary": "no online experiment serves this candidate yet: start one with "
                f"{candidate['ref']} as a treatment against production"}
    primary_name = exp["primary_metric"]
    primary = _row(exp["metrics"], primary_name, variant)
    trusted = bool(exp["trustworthy"])
    where = f"experiment {exp['name']}, arm {variant}"
    significant = bool(primary and primary["status"] == "significant")
    better = bool(primary and primary.get("direction") == "better")
    untrusted_note = "n/a: the experiment is untrustworthy"

    # REJECT: online worse
    rule = "reject.online_worse"
    if not rules.reject.online_significant_worse:
        checks.add(rule, NA, "disabled in the rules")
    elif not trusted:
        checks.add(rule, NA, untrusted_note)
    else:
        checks.add(rule, FIRED if significant and not better else PASSED,
                   f"{where}: {primary_name} {_effect(primary)}")
    # REJECT: guardrail failed
    guards = [g for g in exp.get("guardrails", []) if g["variant"] == variant]
    rule = "reject.guardrail_fail"
    guard_text = "; ".join(
        f"{g['metric']} {pct(g['estimate'])} {ci(g['ci_low'], g['ci_high'])} vs margin "
        f"{'+' if g['worse_if'] == 'increase' else '−'}{g['max_relative_change']:.0%}: "
        f"{g['status']}" for g in guards) or "no guardrails in the experiment file"
    if not rules.reject.guardrail_fail:
        checks.add(rule, NA, "disabled in the rules")
    elif not trusted:
        checks.add(rule, NA, untrusted_note)
    else:
        checks.add(rule, FIRED if any(g["status"] == "fail" for g in guards) else PASSED,
                   f"{where}: {guard_text}")
    # REJECT: futility
    rule = "reject.futility"
    plan = exp["sample"]
    factor = rules.reject.futility_sample_factor
    if factor is None:
        checks.add(rule, NA, "disabled in the rules")
    elif not trusted:
        checks.add(rule, NA, untrusted_note)
    elif plan.get("needed") is None:
        checks.add(rule, NA, "no planned sample size yet")
    else:
        reached = plan["so_far"] >= factor * plan["needed"]
        checks.add(rule, FIRED if reached and not significant else PASSED,
                   f"{plan['so_far']:,} {plan['unit']} of {factor:g} × {plan['needed']:,} "
                   f"planned; {primary_name} {_effect(primary)}")
    if checks.first_fired("reject."):
        checks.add("hold.untrustworthy", NA, "a reject rule fired")
        checks.add("promote.online_win", NA, "a reject rule fired")
        return None
    # HOLD: untrustworthy
    c = exp["checks"]
    check_text = (f"SRM p = {pval(c.get('srm_p_value'))} (fails below "
                  f"{pval(c['thresholds']['srm_p_value'])}), assignment mismatch "
                  f"{rate(c.get('assignment_mismatch_share'), 2)} (max "
                  f"{rate(c['thresholds']['max_mismatch_share'], 2)}), users in several arms "
                  f"{c.get('multi_arm_users', 0):,}; failed: {', '.join(c['failed']) or 'none'}")
    if checks.add("hold.untrustworthy", FIRED if not trusted else PASSED,
                  f"experiment {exp['name']}: {check_text}"):
        checks.add("promote.online_win", NA, "never on an untrustworthy experiment")
        return {"decision": HOLD, "rule": "hold.untrustworthy", "days_more": None,
                "summary": f"experiment {exp['name']} is untrustworthy ({check_text}): more "
                "data will not fix it; fix the assignment or logging and restart the "
                "experiment"}
    if not exp["control_is_production"]:
        checks.add("promote.online_win", NA, "the control arm does not serve production")
        return {"decision": HOLD, "rule": "hold.control_not_production", "days_more": None,
                "summary": f"the control of experiment {exp['name']} served "
                f"{(exp['control_hash'] or 'an unknown version')[:12]}, not the production "
                "version: the experiment does not compare the candidate with production"}
    # PROMOTE
    need, why = _hold_days(exp, rules)
    blocking = {"fail"} if rules.promote.guardrails_block_on == "fail" else {"fail",
                                                                              "inconclusive"}
    blocked = [g for g in guards if g["status"] in blocking]
    long_enough = exp["days_running"] >= rules.promote.min_days
    has_eval = bool(candidate.get("evals"))
    missing_eval = rules.promote.require_offline_eval and not has_eval
    win = significant and better and long_enough and not blocked and not missing_eval
    text = (f"{where}: {primary_name} {_effect(primary)}; ran {days(exp['days_running'])} of "
            f"at least {days(rules.promote.min_days)}; guardrails: {guard_text}")
    checks.add("promote.online_win", FIRED if win else PASSED, text)
    if win:
        caution = [g for g in guards if g["status"] == "inconclusive"]
        summary = (f"{primary_name} {pct(primary['estimate'])} "
                   f"{ci(primary['ci_low'], primary['ci_high'])} in {where}, adjusted p = "
                   f"{pval(primary['p_value_adjusted'])}, after {days(exp['days_running'])}")
        if caution:
            summary += "; guardrail(s) not yet shown safe: " + ", ".join(
                f"{g['metric']} {pct(g['estimate'])} {ci(g['ci_low'], g['ci_high'])}"
                for g in caution)
        return {"decision": PROMOTE, "rule": "promote.online_win", "days_more": None,
                "summary": summary, "estimate": primary["estimate"]}
    if significant and better:
        if not long_enough:
            reason = (f"significant after {days(exp['days_running'])}, but the minimum run "
                      f"time is {days(rules.promote.min_days)}")
            need = rules.promote.min_days - exp["days_running"]
        elif blocked:
            reason = "significant, but guardrail(s) " + ", ".join(
                f"{g['metric']} {g['status']}" for g in blocked) + " block the promotion"
        else:
            reason = "significant, but no offline eval of the candidate yet (required)"
            need = None
        return {"decision": HOLD, "rule": "hold.collecting", "days_more": need,
                "summary": f"{where}: {reason}; {primary_name} {_effect(primary)}"}
    return {"decision": HOLD, "rule": "hold.collecting", "days_more": need,
            "summary": f"{where}: {primary_name} {_effect(primary)}; still needed: {why}"}


def judge_candidate(candidate: dict[str, Any], experiments: list[dict[str, Any]],
                    rules: DecisionRules) -> dict[str, Any]:
    """The verdict on one candidate: PROMOTE, HOLD or REJECT, the rule, the rules checked."""
    checks = _Checks()
    _offline_checks(checks, candidate, rules)
    arm = (candidate.get("arms") or [None])[0]
    exp = next((e for e in experiments if arm and e["name"] == arm["experiment"]), None)
    outcome = _online(checks, candidate, exp, arm["variant"] if arm else None, rules)
    fired = checks.first_fired("reject.")
    if fired:
        return {"decision": REJECT, "rule": fired["rule"], "days_more": None,
                "summary": fired["numbers"], "checks": checks.items}
    assert outcome is not None
    return {**outcome, "checks": checks.items}


# ------------------------------------------------------------------------------ rollback


def judge_production(evidence: dict[str, Any], rules: DecisionRules) -> dict[str, Any]:
    """The rollback rules for the production version; ``fired`` is the first that fired."""
    checks = _Checks()
    promo = evidence.get("promotion")
    r = rules.rollback
    if promo is None:
        for rule in ("rollback.post_promotion_metric", "rollback.post_promotion_guardrail",
                     "rollback.monitoring_alert", "rollback.experiment_regression"):
            checks.add(rule, NA, f"production was not promoted in the last {r.watch_days:g} days")
        return {"fired": None, "checks": checks.items, "watch": None}
    comp = promo["comparison"]
    w = comp["windows"]
    enough = w["before"]["users"] >= r.min_users and w["after"]["users"] >= r.min_users
    sizes = (f"{w['before']['users']:,} users before, {w['after']['users']:,} after "
             f"(at least {r.min_users:,} each)")
    row = next((m for m in comp["metrics"] if m["metric"] == r.metric), None)
    rule = "rollback.post_promotion_metric"
    if not enough:
        checks.add(rule, NA, f"not enough data yet: {sizes}")
    else:
        est = row.get("estimate") if row else None
        drop = est is not None and (est > 0 if METRICS[r.metric].lower_is_better else est < 0)
        fired = (drop and row is not None and row["p_value"] is not None
                 and row["p_value"] < r.alpha and abs(est) >= r.min_relative_drop)
        checks.add(rule, FIRED if fired else PASSED,
                   f"{r.metric} after vs before the promotion: "
                   + (f"{pct(est)} {ci(row['ci_low'], row['ci_high'])}, p = "
                      f"{pval(row['p_value'])} (fires when worse with p < {r.alpha:g}"
                      f"{f' and by at least {r.min_relative_drop:.0%}' if r.min_relative_drop else ''})"
                      if row and est is not None else "no estimate")
                   + f"; {sizes}")
    rule = "rollback.post_promotion_guardrail"
    guards = comp["guardrails"]
    text = "; ".join(f"{g['metric']} {pct(g['estimate'])} {ci(g['ci_low'], g['ci_high'])} vs "
                     f"margin {'+' if g['worse_if'] == 'increase' else '−'}"
                     f"{g['max_relative_change']:.0%}: {g['status']}" for g in guards)
    if not guards:
        checks.add(rule, NA, "no rollback guardrails in the rules")
    elif not enough:
        checks.add(rule, NA, f"not enough data yet: {sizes}")
    else:
        checks.add(rule, FIRED if any(g["status"] == "fail" for g in guards) else PASSED,
                   f"after vs before the promotion: {text}")
    rule = "rollback.monitoring_alert"
    alerts = evidence.get("alerts")
    watched = {r.metric, *(g.metric for g in r.guardrails)}
    promoted_on = promo["moved_at"][:10]
    if r.alert_severity is None:
        checks.add(rule, NA, "disabled in the rules")
    elif alerts is None:
        checks.add(rule, NA, "no monitoring in this store")
    else:
        hits = [a for a in alerts if a["prompt_hash"] == promo["to_hash"]
                and a["run_date"] >= promoted_on and a["kind"] == "drift"
                and a["severity"] == r.alert_severity and a["metric"] in watched]
        checks.add(rule, FIRED if hits else PASSED,
                   "; ".join(f"{a['run_date']} {a['severity']} {a['metric']}: {a['message']}"
                             for a in hits[:3])
                   or f"no {r.alert_severity} drift alert on the production version since "
                   f"{promoted_on}")
    rule = "rollback.experiment_regression"
    holds = evidence.get("holdbacks") or []
    if not holds:
        checks.add(rule, NA, "no experiment compares production with the version it replaced")
    for hb in holds:
        exp = next(e for e in evidence["experiments"] if e["name"] == hb["experiment"])
        for variant in hb["variants"]:
            primary = _row(exp["metrics"], exp["primary_metric"], variant)
            worse = bool(exp["trustworthy"] and primary and primary["status"] == "significant"
                         and primary.get("direction") == "worse")
            checks.add(rule, FIRED if worse else PASSED,
                       f"experiment {exp['name']}: production (arm {variant}) vs the replaced "
                       f"version (arm {exp['control']}): {exp['primary_metric']} "
                       f"{_effect(primary)}" + ("" if exp["trustworthy"] else
                                                "; the experiment is untrustworthy"))
    fired = checks.first_fired("rollback.")
    watch = None
    if not fired:
        remaining = max(0.0, r.watch_days - promo["days_since"])
        need = None
        if not enough:
            after_rate = w["after"]["users"] / max(promo["days_since"], 1e-9)
            need = ((r.min_users - w["after"]["users"]) / after_rate
                    if after_rate > 0 and w["after"]["users"] < r.min_users else None)
        watch = {"days_left": remaining, "days_more": need if need is not None else
                 (remaining if remaining > 0 else None),
                 "summary": (f"production {promo['to_hash'][:12]} promoted "
                             f"{days(promo['days_since'])} ago: no regression against "
                             f"{promo['from_hash'][:12]} so far ({sizes}); watched "
                             f"{days(remaining)} more")}
    return {"fired": fired, "checks": checks.items, "watch": watch}


# ------------------------------------------------------------------------------- prompt


def _score(verdict: dict[str, Any]) -> float:
    return verdict.get("estimate") or 0.0


def decide(evidence: dict[str, Any], rules: DecisionRules) -> dict[str, Any]:
    """The prompt's decision: kind, rule, subject, summary, days of data still needed, and every
    candidate's verdict with the rules checked."""
    production = judge_production(evidence, rules)
    verdicts = []
    for candidate in evidence["candidates"]:
        verdict = judge_candidate(candidate, evidence["experiments"], rules)
        verdicts.append({"hash": candidate["hash"], "short": candidate["short"],
                         "ref": candidate["ref"], "sources": candidate["sources"], **verdict})
    result: dict[str, Any] = {"production_checks": production["checks"], "candidates": verdicts,
                              "others": [{"ref": v["ref"], "decision": v["decision"],
                                          "rule": v["rule"]} for v in verdicts]}
    prod = evidence.get("production") or {}
    if production["fired"]:
        fired = production["fired"]
        promo = evidence["promotion"]
        return {**result, "decision": ROLLBACK, "rule": fired["rule"],
                "subject": {"hash": prod.get("hash"), "short": prod.get("short"),
                            "ref": f"{evidence['prompt']}@production"},
                "rollback_to": {"hash": promo["from_hash"], "short": promo["from_short"]},
                "summary": f"production {prod.get('short')} regressed against "
                f"{promo['from_short']}: {fired['numbers']}", "days_more": None}
    for kind in (PROMOTE, HOLD, REJECT):
        chosen = [v for v in verdicts if v["decision"] == kind]
        if not chosen:
            continue
        if kind == PROMOTE:
            sign = {True: -1.0, False: 1.0}
            best = max(chosen, key=lambda v: sign[_lower_better(v, evidence)] * _score(v))
        elif kind == HOLD:
            best = min(chosen, key=lambda v: (v["days_more"] is None,
                                              v["days_more"] or 0.0, v["ref"]))
        else:
            best = chosen[0]
        others = [{"ref": v["ref"], "decision": v["decision"], "rule": v["rule"]}
                  for v in verdicts if v is not best]
        return {**result, "decision": kind, "rule": best["rule"], "others": others,
                "subject": {"hash": best["hash"], "short": best["short"], "ref": best["ref"]},
                "summary": f"{best['ref']}: {best['summary']}", "days_more": best["days_more"]}
    watch = production["watch"] or {}
    return {**result, "decision": HOLD, "rule": "hold.watching",
            "subject": {"hash": prod.get("hash"), "short": prod.get("short"),
                        "ref": f"{evidence['prompt']}@production"},
            "summary": watch.get("summary") or "no candidate and nothing to decide",
            "days_more": watch.get("days_more")}


def _lower_better(verdict: dict[str, Any], evidence: dict[str, Any]) -> bool:
    """Whether the primary metric of the candidate's experiment is better when lower."""
    candidate = next(c for c in evidence["candidates"] if c["hash"] == verdict["hash"])
    if not candidate.get("arms"):
        return False
    name = candidate["arms"][0]["experiment"]
    exp = next(e for e in evidence["experiments"] if e["name"] == name)
    return METRICS[exp["primary_metric"]].lower_is_better
