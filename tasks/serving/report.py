"""Markdown for the serving and rollout artifacts and the night's summary.

The reports read the data itself with :func:`flywheel.tasks.serving.rollout.night_decisions` (the
decisions of one night, with evidence) and :func:`flywheel.tasks.serving.rollout.rollout_states`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flywheel.tasks.fmt import pct


def _cell(text: Any) -> str:
    return str(text if text is not None else "-").replace("|", "\\|").replace("\n", " ")


def _fraction(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}" if x * 100 == round(x * 100) else f"{x:.1%}"


_pct = partial(pct, missing="n/a")


def decision_rows(decisions: list[dict[str, Any]]) -> list[str]:
    """Markdown table rows (header included) of ramp decisions: ramp, action, stage, reason."""
    lines = ["| ramp | decision | stage | users this stage | reason |", "|---|---|---|---|---|"]
    for d in decisions:
        users = (d.get("evidence") or {}).get("arm_users") or {}
        lines.append(
            f"| {_cell(d['subject'])} ({d['kind']}) | **{d['action']}** | "
            f"{_fraction(d.get('from_fraction'))} → {_fraction(d['to_fraction'])} | "
            f"{_cell(', '.join(f'{k} {v}' for k, v in users.items()) or '-')} | "
            f"{_cell(d['reason'])} |")
    return lines


def guardrail_rows(decisions: list[dict[str, Any]]) -> list[str]:
    """Markdown table rows of every guardrail estimate the decisions were taken on."""
    lines = ["| ramp | metric | arm | change | 95% CI | allowed | status |",
             "|---|---|---|---|---|---|---|"]
    for d in decisions:
        for g in (d.get("evidence") or {}).get("guardrails") or []:
            sign = "+" if g["worse_if"] == "increase" else "-"
            lines.append(
                f"| {_cell(d['subject'])} | {g['metric']} | {g['variant']} | "
                f"{_pct(g['estimate'])} | [{_pct(g['ci_low'])}, {_pct(g['ci_high'])}] | "
                f"{sign}{g['max_relative_change']:.0%} | {g['status']} |")
    return lines if len(lines) > 2 else []


def rollout_lines(result: dict[str, Any] | None) -> list[str]:
    """The rollout section of the night's summary (empty when there was nothing to decide)."""
    if not result or not (result.get("decisions") or result.get("started")):
        return []
    lines = ["", "## Rollout", ""]
    for ramp in result.get("started", []):
        lines.append(f"- started: {ramp['subject']} ({ramp['kind']}) at "
                     f"{_fraction(ramp['fraction'])}")
    if result.get("decisions"):
        lines += ["", *decision_rows(result["decisions"])]
    return lines


def rollout_markdown(result: dict[str, Any]) -> str:
    """The rollout flow's artifact: decisions, the guardrail numbers behind them, problems."""
    lines = [f"# Rollout decisions, night of {result['run_date']}", ""]
    if not result["decisions"] and not result["started"]:
        lines.append("No ramp to decide on.")
    for ramp in result["started"]:
        lines.append(f"- started: {ramp['subject']} ({ramp['kind']}), stages "
                     + " → ".join(_fraction(s) for s in ramp["stages"]))
    if result["decisions"]:
        lines += ["", *decision_rows(result["decisions"])]
        guards = guardrail_rows(result["decisions"])
        if guards:
            lines += ["", "## Guardrails", "", *guards]
    if result["skipped"]:
        lines += ["", "## Not decided tonight", ""]
        lines += [f"- {s['subject']}: {s['reason']}" for s in result["skipped"]]
    if result["errors"]:
        lines += ["", "## Errors", ""]
        lines += [f"- {e['subject']}: {_cell(e['error'])}" for e in result["errors"]]
    return "\n".join(lines) + "\n"


def snapshot_markdown(result: dict[str, Any]) -> str:
    """The serving-snapshot artifact: where, which generation, what it holds, problems."""
    lines = [f"# serving.json generation {result['generation']}", "",
             "| | |", "|---|---|",
             f"| path | `{result['path']}` |", f"| reason | {_cell(result['reason'])} |",
             f"| written | {result['generated_at']} |",
             f"| prompts / experiments / ramps | {result['prompts']} / {result['experiments']} / "
             f"{result['rollouts']} |",
             f"| sha256 | `{result['sha256']}` |"]
    if result["problems"]:
        lines += ["", "## Problems", "", *[f"- {_cell(p)}" for p in result["problems"]]]
    return "\n".join(lines) + "\n"
