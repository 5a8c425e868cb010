"""Promotion reports (CONTRACTS §6, docs/decisions.md): the decision per prompt, the evidence,
the command that carries it out, as HTML and Markdown.

rules      decisions.yaml: the configurable thresholds (defaults in code)
evidence   what the store says about a prompt for one night (SQL over ab_*, eval_runs, logs)
rollback   production before vs after its promotion (SQL sufficient statistics + flywheel.tasks.stats)
decide     the rules applied to the evidence: PROMOTE / HOLD / REJECT / ROLLBACK, and why
commands   the `flywheel prompts promote|rollback` command and its undo
text       redaction and escaping of user-sourced text (HTML by Jinja2, Markdown here)
charts     matplotlib SVG charts, deterministic
render     Jinja2 templates, atomic file writes
build      one night: every prompt's report, the index, the stored decisions
"""

from flywheel.tasks.reports.build import build_night, default_night
from flywheel.tasks.reports.fmt import pct
from flywheel.tasks.reports.rules import DecisionRules, RolloutRules, load_rules

__all__ = ["DecisionRules", "RolloutRules", "build_night", "default_night", "load_rules", "pct"]
