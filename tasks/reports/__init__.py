"""Promotion reports (docs/contracts.md "Decisions", docs/decisions.md): the decision per
prompt, the evidence, the command that carries it out, as HTML and Markdown. This module is the
package's public face; everything else is private (``_name``) and may change.

_rules      decisions.yaml: every decision threshold, report and rollout (defaults in code)
_evidence   what the store says about a prompt for one night (SQL over ab_*, eval_runs, logs)
_model      the typed evidence the rules read and the typed decision they return
_rollback   production before vs after its promotion (SQL sufficient statistics + stats)
_decide     the rules, one function each in ordered tables: PROMOTE / HOLD / REJECT / ROLLBACK
_sentences  the rules' sentences, built from typed results
_commands   the `flywheel prompts promote|rollback` command and its undo
_text       redaction and escaping of user-sourced text (HTML by Jinja2, Markdown here)
(number formatting, the one percent formatter ``pct``, is flywheel.tasks.fmt, shared with ab, evals, serving)
_charts     matplotlib SVG charts, deterministic; _figures: the charts of one report
_render     Jinja2 templates, atomic file writes
_build      one night: every prompt's report, the index, the stored decisions
_artifact   the Prefect artifact of a night's reports
"""

from flywheel.tasks.fmt import pct
from flywheel.tasks.reports._artifact import artifact_markdown
from flywheel.tasks.reports._build import build_night, default_night, file_stem, key_numbers
from flywheel.tasks.reports._charts import ForestRow, forest_plot
from flywheel.tasks.reports._commands import commands_for
from flywheel.tasks.reports._decide import decide, judge_candidate, judge_production
from flywheel.tasks.reports._evidence import Night, gather
from flywheel.tasks.reports._figures import report_charts
from flywheel.tasks.reports._model import (
    Check,
    Decision,
    ProductionVerdict,
    PromptEvidence,
    Subject,
    Verdict,
    evidence_of,
)
from flywheel.tasks.reports._render import render
from flywheel.tasks.reports._rollback import compare_windows
from flywheel.tasks.reports._rules import DecisionRules, RolloutRules, load_rules
from flywheel.tasks.reports._text import md, md_fence, redact_tree, redactor_of

__all__ = [
    "Check", "Decision", "DecisionRules", "ForestRow", "Night", "ProductionVerdict",
    "PromptEvidence", "RolloutRules", "Subject", "Verdict", "artifact_markdown", "build_night",
    "commands_for", "compare_windows", "decide", "default_night", "evidence_of", "file_stem",
    "forest_plot", "gather", "judge_candidate", "judge_production", "key_numbers", "load_rules",
    "md", "md_fence", "pct", "redact_tree", "redactor_of", "render", "report_charts",
]
