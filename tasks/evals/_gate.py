"""The pull-request gate: a candidate prompt version against a baseline on one eval set, with a
verdict a CI job can act on (exit 0 pass, 1 fail or held), a JUnit XML file (one test case per
eval case: a regression is a failure) and a Markdown summary for a PR comment.

The measure is the per-case pass share (the share of a case's scored repeats that pass; with one
repeat, pass or fail), paired over the cases both versions scored; its interval is the paired
bootstrap over cases at 1 − α, so a case's repeats are resampled as one cluster. The candidate
fails when that interval lies below zero (a significant regression) or its drop exceeds
``max_drop_pts`` percentage points; it is held when the judge its llm-rubric assertions rest on
agrees with people less than ``judge_min_kappa`` (docs/evals.md, "The gate").
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect
from flywheel.tasks.evals._calibration import JudgeCheck, judge_checks
from flywheel.tasks.evals._compare import CaseOutcome, case_outcomes, compare
from flywheel.tasks.evals._evalset import load_evalset
from flywheel.tasks.evals._runner import Executor, run_eval
from flywheel.tasks.evals._scorers import PythonChecks

PASS, FAIL, HELD = "pass", "fail", "held"
JUDGE_NOT_CALIBRATED = "judge not calibrated"
# Characters XML 1.0 cannot carry at all (a model's output may hold any of them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SUMMARY_OUTPUT_CHARS = 300
SUMMARY_REGRESSIONS = 20


@dataclass(frozen=True)
class GateOptions:
    """The gate's thresholds: α of the interval, and an optional margin in percentage points."""

    alpha: float = 0.05
    max_drop_pts: float | None = None


def _case_rows(baseline: Mapping[str, CaseOutcome],
               candidate: Mapping[str, CaseOutcome]) -> list[dict[str, Any]]:
    rows = []
    for cid in sorted(baseline.keys() | candidate.keys()):
        b, c = baseline.get(cid), candidate.get(cid)
        paired = b is not None and c is not None and b.passed is not None \
            and c.passed is not None
        status = "unpaired"
        if paired and b is not None and c is not None:
            status = ("regression" if b.passed and not c.passed else
                      "improvement" if c.passed and not b.passed else
                      "pass" if c.passed else "fail")
        some = b or c
        rows.append({
            "case_id": cid, "tags": list(some.tags) if some else [], "status": status,
            "baseline_pass_share": b.pass_share if b and b.scored else None,
            "candidate_pass_share": c.pass_share if c and c.scored else None,
            "candidate_flaky": bool(c and c.flaky),
            "baseline_output": b.output if b else None,
            "candidate_output": c.output if c else None,
            "error": (c.error if c else None) or (b.error if b else None),
        })
    return rows


def gate_verdict(baseline: Mapping[str, CaseOutcome], candidate: Mapping[str, CaseOutcome],
                 options: GateOptions, judge: Sequence[JudgeCheck] = ()) -> dict[str, Any]:
    """The gate's verdict, reasons, paired comparison and per-case rows (JSON-ready)."""
    comparison = compare(baseline, candidate, confidence=1 - options.alpha)
    diff, (low, high) = comparison["pass_share_diff"], comparison["pass_share_diff_ci"]
    reasons = []
    if comparison["paired_cases"] == 0:
        reasons.append("no case was scored for both versions")
    if high is not None and high < 0:
        reasons.append(f"significant regression: pass share difference {diff:+.3f}, "
                       f"{100 * (1 - options.alpha):g}% CI [{low:+.3f}, {high:+.3f}] below 0")
    if options.max_drop_pts is not None and diff is not None \
            and -diff * 100 > options.max_drop_pts + 1e-9:
        reasons.append(f"drop of {-diff * 100:.1f} pts exceeds --max-drop "
                       f"{options.max_drop_pts:g} pts")
    uncalibrated = [j for j in judge if not j.calibrated]
    verdict = FAIL if reasons else PASS
    if uncalibrated:
        verdict = HELD
        reasons += [f"{JUDGE_NOT_CALIBRATED}: rubric {j.rubric!r} has kappa "
                    f"{'unknown' if j.kappa is None else format(j.kappa, '.2f')} < "
                    f"{j.min_kappa:g} (n={j.n})" for j in uncalibrated]
    return {
        "verdict": verdict, "passed": verdict == PASS, "reasons": reasons,
        "alpha": options.alpha, "max_drop_pts": options.max_drop_pts,
        "measure": "pass_share", "comparison": comparison,
        "judge": [{"rubric": j.rubric, "kappa": j.kappa, "min_kappa": j.min_kappa, "n": j.n,
                   "calibrated": j.calibrated} for j in judge],
        "cases": _case_rows(baseline, candidate),
    }


def _xml_text(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", "" if text is None else str(text))


def junit_xml(result: Mapping[str, Any]) -> str:
    """JUnit XML: one ``testcase`` per eval case (a regression is a ``failure`` carrying both
    outputs, an unpaired case is ``skipped``), and one for the gate's verdict."""
    cases = result["cases"]
    failures = sum(1 for c in cases if c["status"] == "regression") + (result["verdict"] != PASS)
    skipped = sum(1 for c in cases if c["status"] == "unpaired")
    suite = ET.Element("testsuite", name=_xml_text(f"flywheel eval gate: {result['evalset']}"),
                       tests=str(len(cases) + 1), failures=str(failures), errors="0",
                       skipped=str(skipped))
    gate = ET.SubElement(suite, "testcase", classname="flywheel.gate",
                         name=_xml_text(f"{result['candidate']} vs {result['baseline']}"))
    if result["verdict"] != PASS:
        ET.SubElement(gate, "failure", message=_xml_text(result["verdict"]),
                      type=result["verdict"]).text = _xml_text("\n".join(result["reasons"]))
    for case in cases:
        element = ET.SubElement(suite, "testcase", classname=_xml_text(
            "flywheel.eval." + (case["tags"][0] if case["tags"] else "untagged")),
            name=_xml_text(case["case_id"]))
        if case["status"] == "regression":
            ET.SubElement(element, "failure", message="passed on the baseline, fails on the "
                          "candidate", type="regression").text = _xml_text(
                f"baseline output:\n{case['baseline_output']}\n\n"
                f"candidate output:\n{case['candidate_output']}")
        elif case["status"] == "unpaired":
            ET.SubElement(element, "skipped", message=_xml_text(
                case["error"] or "not scored for both versions"))
    suites = ET.Element("testsuites", name="flywheel eval gate")
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def gate_markdown(result: Mapping[str, Any]) -> str:
    """The Markdown summary for a PR comment; every text from a model or a file is escaped."""
    from flywheel.tasks.reports import md, md_fence

    comp = result["comparison"]
    low, high = comp["pass_share_diff_ci"]
    level = f"{100 * (1 - result['alpha']):g}%"
    icon = {PASS: "✅ PASS", FAIL: "❌ FAIL", HELD: "⏸️ HELD"}[result["verdict"]]
    lines = [f"## flywheel eval gate: {icon}", "",
             f"Candidate {md(result['candidate'])} vs baseline {md(result['baseline'])} on eval "
             f"set {md(result['evalset'])} (run {md(result['run_id'])}, "
             f"{result['repeats']} repeat(s)).", ""]
    lines += [f"- {md(reason)}" for reason in result["reasons"]] or ["- no regression found"]
    diff = comp["pass_share_diff"]
    lines += ["", "| measure | baseline | candidate | difference | " + level + " CI |",
              "|---|---|---|---|---|",
              f"| pass share ({comp['paired_cases']} paired cases) | "
              f"{_num(comp['baseline_pass_share'])} | {_num(comp['candidate_pass_share'])} | "
              f"{_num(diff, '+.3f')} | [{_num(low, '+.3f')}, {_num(high, '+.3f')}] |", "",
              f"McNemar exact p = {_num(comp['mcnemar']['p_value'], '.4f')} "
              f"({comp['mcnemar']['regressions']} regressions, "
              f"{comp['mcnemar']['improvements']} improvements); paired bootstrap over cases."]
    regressions = [c for c in result["cases"] if c["status"] == "regression"]
    if regressions:
        lines += ["", f"### Regressions ({len(regressions)})"]
        for case in regressions[:SUMMARY_REGRESSIONS]:
            lines += ["", f"**{md(case['case_id'])}** ({md(', '.join(case['tags']) or 'untagged')})",
                      "", "baseline:", "", md_fence(_short(case["baseline_output"])), "",
                      "candidate:", "", md_fence(_short(case["candidate_output"]))]
        if len(regressions) > SUMMARY_REGRESSIONS:
            lines += ["", f"… and {len(regressions) - SUMMARY_REGRESSIONS} more (JUnit file)."]
    return "\n".join(lines) + "\n"


def _short(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= SUMMARY_OUTPUT_CHARS else text[:SUMMARY_OUTPUT_CHARS - 1] + "…"


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "n/a" if value is None else format(value, fmt)


def run_gate(settings: Settings, evalset_path: str | Path, baseline: str, candidate: str, *,
             execute: Executor, options: GateOptions, repeats: int = 1,
             no_cache: bool = False) -> dict[str, Any]:
    """Evaluate both versions (answers from the cache where it has them), then judge the
    candidate; returns what ``flywheel eval gate --json`` prints."""
    checks = PythonChecks(settings.project_dir)
    evalset = load_evalset(evalset_path, python_resolver=checks)
    summary = run_eval(settings, evalset_path, [baseline, candidate], execute=execute,
                       repeats=repeats, no_cache=no_cache, trigger="gate")
    rubrics = {a.value for c in evalset.cases for a in c.asserts if a.type == "llm-rubric"}
    base_hash, cand_hash = (v["hash"] for v in summary["versions"])
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        outcomes = case_outcomes(con, summary["run_id"])
        judge = judge_checks(con, summary["judge_model"], rubrics, settings.judge_min_kappa)
    result = gate_verdict(outcomes.get(base_hash, {}), outcomes.get(cand_hash, {}), options,
                          judge)
    return {"run_id": summary["run_id"], "evalset": evalset.name,
            "evalset_path": str(evalset.path), "evalset_hash": evalset.hash,
            "baseline": baseline, "baseline_hash": base_hash, "candidate": candidate,
            "candidate_hash": cand_hash, "repeats": repeats,
            "demo_model": summary["demo_model"], **result}
