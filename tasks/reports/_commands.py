"""The command that carries a decision out, and the one that undoes it (shell-quoted).

``--db`` is given when the store is not the default ``flywheel.duckdb`` of the project folder;
the commands are meant to be run from the project folder (the report says which).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from flywheel.tasks.reports._model import PROMOTE, ROLLBACK, Decision
from flywheel.tasks.reports._text import cut

REASON_CHARS = 240


def _prefix(db_path: Path, project_dir: Path) -> list[str]:
    words = ["flywheel"]
    if db_path.resolve() != (project_dir / "flywheel.duckdb").resolve():
        words += ["--db", str(db_path)]
    return words


def _reason(text: str) -> str:
    return cut(" ".join(text.split()), REASON_CHARS)


def commands_for(decision: Decision, prompt: str, run_date: str, db_path: Path,
                 project_dir: Path) -> dict[str, Any]:
    """``{command, undo, note}`` for a decision: promote/rollback for PROMOTE/ROLLBACK; none
    for HOLD and REJECT (production stays where it is)."""
    base = _prefix(db_path, project_dir)
    kind = decision.decision
    why = f"{run_date} report, {decision.rule}: {decision.summary}"
    if kind == PROMOTE:
        ref = f"{prompt}:{decision.subject.short}"
        command = [*base, "prompts", "promote", prompt, ref, "--reason", _reason(why)]
        undo = [*base, "prompts", "rollback", prompt, "--reason",
                _reason(f"undo the promotion of {ref} ({run_date} report)")]
        return {"command": shlex.join(command), "undo": shlex.join(undo),
                "note": f"points {prompt}@production at {ref}; the undo moves it back"}
    if kind == ROLLBACK and decision.rollback_to is not None:
        current = f"{prompt}:{decision.subject.short}"
        target = decision.rollback_to.short
        command = [*base, "prompts", "rollback", prompt, "--reason", _reason(why)]
        undo = [*base, "prompts", "promote", prompt, current, "--reason",
                _reason(f"undo the rollback of {current} ({run_date} report)")]
        return {"command": shlex.join(command), "undo": shlex.join(undo),
                "note": f"moves {prompt}@production back to {prompt}:{target}, the version "
                        f"{current} replaced; the undo promotes {current} again"}
    return {"command": None, "undo": None,
            "note": "nothing to run: production stays where it is"}
