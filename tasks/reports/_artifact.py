"""The Markdown of the Prefect artifact of one prompt's report: the decision, the key numbers
and the command (Markdown-escaped like the report files)."""

from __future__ import annotations

from typing import Any

from flywheel.tasks.reports._text import md, md_fence


def artifact_markdown(report: dict[str, Any], run_date: str) -> str:
    """One prompt's decision for the Prefect UI (``report`` as ``flywheel report --json``
    lists it)."""
    lines = [f"# {md(report['prompt'])}: {report['decision']} ({run_date})", "",
             str(md(report["summary"])), "", f"Rule: {md(report['rule'])}", "",
             "| what | value |", "|---|---|"]
    lines += [f"| {md(k)} | {md(v)} |" for k, v in report["key_numbers"]]
    if report.get("command"):
        lines += ["", "Carry it out:", "", md_fence(report["command"], "sh"), "", "Undo:", "",
                  md_fence(report["undo"], "sh")]
    lines += ["", f"Full report: {md(report['html'])}"]
    return "\n".join(lines) + "\n"
