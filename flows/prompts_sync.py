"""The ``prompts-sync`` flow: register every prompt file of a folder (or the given files); and
the night's ``prompts-sync`` step (the project's prompts/ folder)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flywheel.flows.night import Night, publish_markdown
from flywheel.tasks.commands import sync_prompt_files
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.registry import artifact_key, raise_for_errors, sync_markdown


def register_prompt_files(
    settings: Settings, folder: str | None, files: list[str] | None, by: str | None,
) -> dict[str, Any]:
    """Validate and register the files; publish the sync summary (with the request-link report);
    raise :class:`PromptSyncError` after registering the valid ones when any file is invalid."""
    summary = sync_prompt_files(settings, folder, files, by)
    publish_markdown(artifact_key("prompts-sync"), sync_markdown(summary),
                     "Prompt versions registered, labels placed, files refused.")
    raise_for_errors(summary)
    return summary


def sync_project_prompts(night: Night) -> dict[str, Any]:
    """The night's step: register the project's prompts/ folder (a note when there is none)."""
    folder = night.settings.dir("prompts")
    if not folder.is_dir():
        return {"note": f"no prompts folder at {folder}"}
    return register_prompt_files(night.settings, str(folder), None, None)


@flow(name="prompts-sync")
def prompts_sync_flow(
    folder: str | None = None, files: list[str] | None = None, by: str | None = None,
    db_path: str | None = None, project_dir: str | None = None,
) -> dict[str, Any]:
    """Register the prompt files of ``folder`` (default: the project's prompts/) or ``files``.

    Idempotent. Valid files are registered even when others are invalid; the flow then fails
    with :class:`PromptSyncError` (exit 2), whose ``summary`` lists every problem.
    """
    settings = load_settings(db=db_path, project_dir=project_dir)
    if folder is None and not files:
        folder = str(settings.dir("prompts"))
    return register_prompt_files(settings, folder, files, by)
