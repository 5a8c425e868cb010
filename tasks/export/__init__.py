"""Flywheel exports: fine-tuning JSONL, preference pairs and hard examples (CONTRACTS §5).

Every export selects in DuckDB, rebuilds messages from the registry when they were not logged,
redacts PII and secrets (tasks/redact.py), validates with OpenAI's data-preparation checks,
deduplicates, keeps eval-set cases out, and writes atomically with manifest.json last.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.export.finetune import export_finetune
from flywheel.tasks.export.hard_examples import export_hard_examples
from flywheel.tasks.export.preferences import export_preferences
from flywheel.tasks.export.select import Window
from flywheel.tasks.export.validate import Validator, validate_jsonl

# what each `flywheel export KIND` writes: KIND -> exporter(settings, out_dir, window) -> summary
EXPORTERS: dict[str, Callable[[Settings, str | Path, Window | None], dict[str, Any]]] = {
    "finetune": export_finetune,
    "preferences": export_preferences,
    "hard-examples": export_hard_examples,
}

__all__ = ["EXPORTERS", "Window", "export_finetune", "export_hard_examples", "export_preferences",
           "validate_file"]


def validate_file(
    settings: Settings, path: str | Path, *, model: str | None = None, max_tokens: int | None = None
) -> dict[str, Any]:
    """Run the export validator on any chat fine-tuning JSONL file."""
    model = model or settings.export.model
    limit = max_tokens or settings.export.token_limit(model)
    return validate_jsonl(Path(path), Validator(model, limit))
