"""Proposals from feedback (docs/optimize.md): few-shot curation and the instruction rewrite
turn the corrections users leave into candidate prompt versions, registered like any other
(their own file under ``prompts/``) with their provenance; the guarded automation (``[auto.NAME]``)
takes a candidate that wins offline through a promotion ramp.

_pairs     the corrected pairs: ranked and capped in SQL, redacted, kept clear of eval cases
_fewshot   a candidate whose few-shot examples are the chosen pairs
_rewrite   a candidate whose system prompt the optimizer model revised (through the evals' client)
_register  the candidate's file, its registration and its provenance
_propose   one prompt's proposal for a night (idempotent), and the night's proposals
_auto      the automation's rules: offline win → ramp; the ramp's A/B → complete or roll back
"""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "AUTO_ACTOR": "flywheel.tasks.optimize._auto",
    "auto_night": "flywheel.tasks.optimize._auto",
    "offline_verdict": "flywheel.tasks.optimize._auto",
    "Pair": "flywheel.tasks.optimize._pairs",
    "Curation": "flywheel.tasks.optimize._pairs",
    "curate_pairs": "flywheel.tasks.optimize._pairs",
    "proposal_lines": "flywheel.tasks.optimize._markdown",
    "proposals_markdown": "flywheel.tasks.optimize._markdown",
    "quality_trend": "flywheel.tasks.optimize._trend",
    "trend_html": "flywheel.tasks.optimize._trend",
    "two_proportion_test": "flywheel.tasks.optimize._trend",
    "OPTIMIZER_SYSTEM": "flywheel.tasks.optimize._rewrite",
    "Proposal": "flywheel.tasks.optimize._propose",
    "propose": "flywheel.tasks.optimize._propose",
    "propose_night": "flywheel.tasks.optimize._propose",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
