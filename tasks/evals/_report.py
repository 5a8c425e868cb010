"""The human form of an eval summary (Markdown: the terminal and the Prefect artifact)."""

from __future__ import annotations

from functools import partial
from typing import Any

from flywheel.tasks import escape
from flywheel.tasks.fmt import pct

OUTPUT_CHARS = 160


_pct = partial(pct, signed=False, missing="n/a")


def _ci(pair: list[float | None], pct: bool = True, fmt: str = "+.3f") -> str:
    low, high = pair
    if low is None or high is None:
        return "n/a"
    return f"[{_pct(low)}, {_pct(high)}]" if pct else f"[{low:{fmt}}, {high:{fmt}}]"


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "n/a" if value is None else format(value, fmt)


def _cut(text: str | None) -> str:
    flat = " ".join((text or "").split())  # cut, then escaped (an escape is never cut in two)
    return escape.markdown(flat if len(flat) <= OUTPUT_CHARS else flat[: OUTPUT_CHARS - 1] + "…")


def _repeat_lines(summary: dict[str, Any]) -> list[str]:
    """pass^k and the flaky cases of each version, with repeats."""
    if summary["repeats"] <= 1:
        return []
    return [""] + [
        f"{v['ref']}: pass^k " + ", ".join(
            f"k={k} {_pct(p)}" for k, p in (v.get("pass_hat_k") or {}).items())
        + f"; {v.get('flaky_count', 0)} flaky case(s) (some repeats pass, some fail)"
        for v in summary["versions"]]


def _share_lines(summary: dict[str, Any], comp: dict[str, Any]) -> list[str]:
    """The pass share difference of a comparison, with repeats (cluster bootstrap)."""
    if summary["repeats"] <= 1 or "pass_share_diff" not in comp:
        return []
    return ["", "Pass share (the share of a case's repeats that pass) difference "
            f"{_num(comp['pass_share_diff'], '+.3f')} "
            f"{_ci(comp['pass_share_diff_ci'], pct=False)} (bootstrap over cases, each "
            "case's repeats one cluster)."]


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as Markdown: versions, comparisons, per tag, regressions and improvements."""
    evalset = summary["evalset"]
    calls = summary["calls"]
    lines = [
        f"# Offline eval {summary['run_id']}",
        "",
        f"Eval set `{evalset['name']}` ({evalset['cases']} cases, version "
        f"{evalset['hash'][:12]}), {summary['repeats']} repeat(s).",
        f"Calls: {calls['total']} ({calls['cached']} from the cache, {calls['http_attempts']} "
        f"HTTP attempts, {calls['errored']} failed). Errors: {summary['errors']['api']} API, "
        f"{summary['errors']['scorer']} scorer (errors are not failures: they are left out of "
        "pass rates and scores).",
    ]
    if summary.get("demo_model"):
        lines += ["", "**Demo model**: the answers came from flywheel's demo model (a rule "
                  "table), not from a real LLM."]
    lines += ["", "| version | pass rate | 95% CI | mean score | 95% CI | errored cases | "
              "consistency | tokens in/out | cost USD |", "|---|---|---|---|---|---|---|---|---|"]
    for v in summary["versions"]:
        cost = "n/a" if v["cost_usd"] is None else f"{v['cost_usd']:.6f}"
        lines.append(
            f"| {v['ref']} ({v['short']}) | {_pct(v['pass_rate'])} | {_ci(v['pass_rate_ci'])} | "
            f"{_num(v['mean_score'])} | {_ci(v['mean_score_ci'], pct=False, fmt='.3f')} | "
            f"{v['cases_errored']} | {_pct(v['consistency'])} | "
            f"{v['prompt_tokens']}/{v['completion_tokens']} | {cost} |")
    lines += _repeat_lines(summary)
    for comp in summary["comparisons"]:
        mc = comp["mcnemar"]
        lines += [
            "", f"## {comp['candidate']} vs {comp['baseline']}", "",
            f"Paired cases: {comp['paired_cases']} ({comp['unpaired_cases']} left out for "
            "errors). Pass rate difference "
            f"{_num(comp['pass_rate_diff'], '+.3f')} {_ci(comp['pass_rate_diff_ci'], pct=False)}, "
            f"mean score difference {_num(comp['mean_score_diff'], '+.3f')} "
            f"{_ci(comp['mean_score_diff_ci'], pct=False)} (paired bootstrap, 95%). "
            f"McNemar exact p = {_num(mc['p_value'], '.4f')} ({mc['regressions']} regressions, "
            f"{mc['improvements']} improvements).",
        ]
        lines += _share_lines(summary, comp)
        if comp["by_tag"]:
            lines += ["", "| tag | cases | baseline | candidate | difference | 95% CI | "
                      "McNemar p |", "|---|---|---|---|---|---|---|"]
            lines += [
                f"| {escape.markdown(t['tag'])} | {t['paired_cases']} | {_pct(t['baseline_pass_rate'])} | "
                f"{_pct(t['candidate_pass_rate'])} | {_num(t['pass_rate_diff'], '+.3f')} | "
                f"{_ci(t['pass_rate_diff_ci'], pct=False)} | "
                f"{_num(t['mcnemar']['p_value'], '.4f')} |"
                for t in comp["by_tag"]
            ]
        for title, items in (("Regressions", comp["regressions"]),
                             ("Improvements", comp["improvements"])):
            if items:
                lines += ["", f"### {title}", "", "| case | baseline output | candidate output |",
                          "|---|---|---|"]
                lines += [f"| {escape.markdown(i['case_id'])} | {_cut(i['baseline_output'])} | "
                          f"{_cut(i['candidate_output'])} |" for i in items]
    return "\n".join(lines) + "\n"
