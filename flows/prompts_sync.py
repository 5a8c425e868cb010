"""The ``prompts-sync`` flow: register every prompt file of a folder (or the given files)."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flywheel.tasks.commands import sync_prompt_files
from flywheel.tasks.config import load_settings
from flywheel.tasks.registry import artifact_key, raise_for_errors, sync_markdown


@task(name="register-prompt-files")
def register_prompt_files(
    db_path: str, project_dir: str, folder: str | None, files: list[str] | None, by: str | None,
) -> dict[str, Any]:
    """Validate and register the files; returns the sync summary with the request-link report."""
    return sync_prompt_files(load_settings(db=db_path, project_dir=project_dir), folder, files, by)


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
    summary = register_prompt_files(str(settings.db_path), str(settings.project_dir), folder,
                                    files, by)
    create_markdown_artifact(
        key=artifact_key("prompts-sync"), markdown=sync_markdown(summary),
        description="Prompt versions registered, labels placed, files refused.",
    )
    raise_for_errors(summary)
    return summary
