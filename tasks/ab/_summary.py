"""Human-readable summaries of an A/B report (Markdown for the Prefect artifact, plain text for
the command line)."""

from __future__ import annotations

from typing import Any

from flywheel.tasks import escape
from flywheel.tasks.fmt import pct


def _p(x: float | None) -> str:
    return "–" if x is None else (f"{x:.2g}" if x < 0.001 else f"{x:.3f}")


def _checks_line(exp: dict[str, Any]) -> str:
    checks = exp["checks"]
    srm = checks["srm_p_value"]
    failed = ", ".join(checks["failed"]) or "none"
    missing = "".join(f"; {m['variant']} names no registered version ({m['ref']})"
                      for m in checks.get("missing_versions") or [])  # absent in older reports
    return (f"SRM p = {_p(srm)}, assignment mismatch {checks['assignment_mismatch_share']:.2%}, "
            f"users in several arms {checks['multi_arm_users']}; failed checks: {failed}"
            f"{missing}")


def _sample_line(exp: dict[str, Any]) -> str:
    plan = exp["sample"]
    if plan["needed"] is None:
        return f"sample: {plan['so_far']} {plan['unit']} so far ({plan['note'] or 'no estimate'})"
    days = plan["days_remaining"]
    remaining = "reached" if plan["reached"] else (
        f"~{days:.1f} days to go" if days is not None else "rate unknown")
    return (f"sample: {plan['so_far']} of {plan['needed']} {plan['unit']} for "
            f"{plan['target_power']:.0%} power at MDE {plan['mde']:.0%} ({remaining})")


def markdown_summary(report: dict[str, Any]) -> str:
    """The report as Markdown: per experiment its status, checks, sample plan and the primary
    and guardrail metrics."""
    when = report.get("date") or "all data"
    lines = [f"# A/B results as of {when}", ""]
    if not report["experiments"]:
        lines.append("No experiment files.")
    for exp in report["experiments"]:
        lines += [f"## {exp['name']}: {exp['status']}"
                  + (f" (winner: {exp['winner']})" if exp["winner"] else ""), "",
                  f"- {_checks_line(exp)}", f"- {_sample_line(exp)}",
                  "- arms: " + ", ".join(f"{escape.markdown(a['variant'])} {a['users']} users / "
                                         f"{a['requests']} requests" for a in exp["arms"]),
                  "", "| metric | variant | control | treatment | lift | CI | p | p adj. "
                  "| chance to win | status |", "|---|---|---|---|---|---|---|---|---|---|"]
        for m in exp["metrics"]:
            ci = "–" if m["ci_low"] is None else f"[{pct(m['ci_low'])}, {pct(m['ci_high'])}]"
            ctw = "–" if m["chance_to_win"] is None else f"{m['chance_to_win']:.0%}"
            lines.append(
                f"| {m['metric']} | {escape.markdown(m['variant'])} | {_num(m['control_mean'])} | "
                f"{_num(m['treatment_mean'])} | {pct(m['estimate'])} | {ci} | "
                f"{_p(m['p_value'])} | {_p(m['p_value_adjusted'])} | {ctw} | {m['status']} |")
        lines.append("")
    if report.get("unfiled_experiments"):
        lines += ["## Experiments in the logs without a file", ""]
        for item in report["unfiled_experiments"]:
            arms = ", ".join(f"{escape.markdown(a['variant'])} ({a['users']} users, "
                             f"{a['requests']} requests)" for a in item["arms"])
            lines.append(f"- {escape.markdown(item['name'])}: {arms}")
    return "\n".join(lines) + "\n"


def text_summary(report: dict[str, Any]) -> str:
    """The report for a terminal: the primary metric per experiment and the checks."""
    when = report.get("date") or "all data"
    lines = [f"A/B results as of {when}"]
    for exp in report["experiments"]:
        lines += ["", f"{exp['name']}: {exp['status'].upper()}"
                  + (f" — winner {exp['winner']}" if exp["winner"] else ""),
                  f"  {_checks_line(exp)}", f"  {_sample_line(exp)}"]
        for m in exp["metrics"]:
            if m["metric"] != exp["primary_metric"]:
                continue
            ci = "" if m["ci_low"] is None else f" [{pct(m['ci_low'])}, {pct(m['ci_high'])}]"
            lines.append(f"  {m['metric']} {m['variant']} vs {m['control']}: "
                         f"{pct(m['estimate'])}{ci} p={_p(m['p_value'])} "
                         f"adj={_p(m['p_value_adjusted'])} → {m['status']}")
    for item in report.get("unfiled_experiments", []):
        lines.append(f"\nno experiment file for {escape.terminal(repr(item['name']))} "
                     f"({item['requests']} requests in {len(item['arms'])} arms)")
    return "\n".join(lines)


def _num(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:,.0f}"
