"""The proposals as text: the nightly artifact, the command's human output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def proposal_lines(p: dict[str, Any]) -> list[str]:
    """A few lines for one proposal: what was built from what, and what comes next."""
    head = f"{p['name']} ({p['method']}): {p['status']}"
    if p["status"] == "skipped":
        return [f"{head}: {p['reason']}", *(f"  note: {n}" for n in p["notes"])]
    days = p["feedback_days"]
    lines = [f"{head} {p['hash'][:12]} on {(p['parent_hash'] or '')[:12]} — {p['reason']}",
             f"  file: {p['file']}",
             f"  built from {p['corrections']} correction(s)"
             + (f" of {days[0]} … {days[-1]}" if days else ""),
             f"  eval cases kept out of its few-shot examples: "
             f"{', '.join(p['excluded_cases']) or 'none'}"]
    if p["optimizer_model"]:
        lines.append(f"  optimizer: {p['optimizer_model']}, ${p['cost_usd'] or 0:.4f}")
    if p["candidate_label_moved"]:
        lines.append(f"  {p['name']}@candidate now points to it (the offline eval runs tonight)")
    lines += [f"  note: {n}" for n in p["notes"]]
    lines += [f"  next: {c}" for c in p["commands"]]
    return lines


def proposals_markdown(proposals: Sequence[dict[str, Any]]) -> str:
    """The night's proposals as Markdown (a Prefect artifact)."""
    if not proposals:
        return "# Proposals from feedback\n\nNo prompt opts in (`[auto.NAME]` in flywheel.toml)."
    body = "\n".join(f"    {line}" for p in proposals for line in proposal_lines(p))
    return "# Proposals from feedback\n\n" + body + "\n"
