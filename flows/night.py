"""What every step of a night is given (:class:`Night`), and how a step publishes its Prefect
artifacts (only inside a Prefect run: the same step called as a plain function publishes nothing).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.errors import FlywheelError


@dataclass(frozen=True)
class Night:
    """One night's run: its id (the Prefect flow run's, when there is one), its date and the
    settings resolved once for the whole run."""

    run_id: str
    run_date: date
    settings: Settings

    @classmethod
    def of(cls, settings: Settings, run_date: date) -> Night:
        """A night for a manual flow or a plain call: the current flow run's id, else a new one."""
        return cls(current_run_id(), run_date, settings)


class GivenSettings:
    """Settings a caller in this process resolved and hands to a flow.

    Prefect stores a flow run's parameters in its database and shows them in its UI; settings
    may hold secrets (a webhook URL's token, MLflow credentials), so they travel in this box,
    which Prefect cannot serialise and records as a placeholder. Deployments give ``db_path`` and
    ``project_dir`` instead and the flow resolves the settings itself.
    """

    __slots__ = ("settings",)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return "GivenSettings(...)"


def resolve_settings(given: GivenSettings | None, db_path: str | None,
                     project_dir: str | None) -> Settings:
    """The settings a flow runs with: those given, else resolved from the paths (once)."""
    return given.settings if given is not None else load_settings(db=db_path, project_dir=project_dir)


class StepIncomplete(FlywheelError):
    """Raised by a step that did part of its work: the step counts as failed, its result is kept."""

    def __init__(self, message: str, value: Any) -> None:
        super().__init__(message, value)
        self.message = message
        self.value = value

    def __str__(self) -> str:
        return self.message


def current_run_id() -> str:
    """The id of the Prefect flow run this code runs in, else a fresh UUID."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None:
        return str(context.flow_run.id)
    return str(uuid.uuid4())


def _in_prefect_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def publish_markdown(key: str, markdown: str, description: str) -> None:
    """A Markdown artifact of the current Prefect run (nothing outside one)."""
    if _in_prefect_run():
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(key=key, markdown=markdown, description=description)


def publish_table(key: str, table: list[dict[str, Any]], description: str) -> None:
    """A table artifact of the current Prefect run (nothing outside one)."""
    if _in_prefect_run():
        from prefect.artifacts import create_table_artifact

        create_table_artifact(key=key, table=table, description=description)


def publish_link(key: str, link: str, link_text: str, description: str) -> None:
    """A link artifact of the current Prefect run (nothing outside one)."""
    if _in_prefect_run():
        from prefect.artifacts import create_link_artifact

        create_link_artifact(key=key, link=link, link_text=link_text, description=description)


def log(level: str, message: str, *args: Any, **extra: Any) -> None:
    """A line in the current Prefect run's log, else in flywheel's own logger."""
    if _in_prefect_run():
        from prefect import get_run_logger

        logger: Any = get_run_logger()
    else:
        import logging

        logger = logging.getLogger("flywheel")
    getattr(logger, level)(message, *args, **extra)


def warning(message: str, *args: Any) -> None:
    """A warning in the current run's log (:func:`log`)."""
    log("warning", message, *args)


def error(message: str, *args: Any) -> None:
    """An error in the current run's log (:func:`log`)."""
    log("error", message, *args)


def default_run_date() -> date:
    """Yesterday, UTC: the night's run covers the day that just ended."""
    return datetime.now(UTC).date() - timedelta(days=1)
