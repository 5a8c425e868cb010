"""What each ``flywheel export KIND`` runs, and the validator on any chat fine-tuning file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Protocol

from flywheel.tasks.config import Settings
from flywheel.tasks.export._common import Tools
from flywheel.tasks.export._finetune import export_finetune
from flywheel.tasks.export._hard_examples import export_hard_examples
from flywheel.tasks.export._preferences import export_preferences
from flywheel.tasks.export._select import Window
from flywheel.tasks.export._validate import Validator, validate_jsonl


class Exporter(Protocol):
    """An export: ``night`` makes it that night's part (deduplicated against earlier parts);
    ``tools`` shared by exports of one run share what their redactor and guard remember."""

    def __call__(self, settings: Settings, out: str | Path, window: Window | None = None, *,
                 night: date | None = None, tools: Tools | None = None) -> dict[str, Any]: ...


# what each `flywheel export KIND` writes
EXPORTERS: dict[str, Exporter] = {
    "finetune": export_finetune,
    "preferences": export_preferences,
    "hard-examples": export_hard_examples,
}


def validate_file(
    settings: Settings, path: str | Path, *, model: str | None = None, max_tokens: int | None = None
) -> dict[str, Any]:
    """Run the export validator on any chat fine-tuning JSONL file."""
    model = model or settings.export.model
    limit = max_tokens or settings.export.token_limit(model)
    return validate_jsonl(Path(path), Validator(model, limit))
