"""Flywheel exports: fine-tuning JSONL, preference pairs and hard examples (docs/contracts.md, "Exports").

Every export selects in DuckDB, rebuilds messages from the registry when they were not logged,
redacts PII and secrets (tasks/redact.py), validates with OpenAI's data-preparation checks,
deduplicates, keeps eval-set cases out, and writes atomically with manifest.json last.
"""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "EXPORTERS": "flywheel.tasks.export._exporters",
    "Tools": "flywheel.tasks.export._common",
    "assemble_parts": "flywheel.tasks.export._assemble",
    "LeakageGuard": "flywheel.tasks.export._evalsets",
    "read_eval_cases": "flywheel.tasks.export._evalsets",
    "normalize": "flywheel.tasks.export._text",
    "vars_text": "flywheel.tasks.export._text",
    "validate_file": "flywheel.tasks.export._exporters",
    "export_finetune": "flywheel.tasks.export._finetune",
    "export_hard_examples": "flywheel.tasks.export._hard_examples",
    "export_preferences": "flywheel.tasks.export._preferences",
    "Window": "flywheel.tasks.export._select",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
