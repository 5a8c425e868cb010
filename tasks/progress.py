"""Progress of long work for a person at a terminal: a rich bar on stderr, nothing otherwise.

The work reports through :class:`Progress` (``set_total``, ``advance``); the command decides
whether anyone is watching: a bar only when stderr is a terminal and the output is not
``--json``. A disabled bar costs nothing and never imports rich.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Progress:
    """Where work reports how far it got. The base class ignores every report."""

    def set_total(self, total: int, label: str | None = None) -> None:
        """The amount of work of the current phase (a new label starts a new phase)."""

    def advance(self, amount: int = 1) -> None:
        """``amount`` more units done."""


class _RichProgress(Progress):
    def __init__(self, label: str, unit: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import (
            Progress as RichBar,
        )

        self.label, self.unit = label, unit
        self.bar = RichBar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TextColumn(unit), TimeElapsedColumn(),
                           console=Console(stderr=True), transient=True)
        self.task_id: Any = None

    def set_total(self, total: int, label: str | None = None) -> None:
        if self.task_id is not None and label is None:
            self.bar.update(self.task_id, total=total)
            return
        if self.task_id is not None:
            self.bar.remove_task(self.task_id)
        self.task_id = self.bar.add_task(label or self.label, total=total)

    def advance(self, amount: int = 1) -> None:
        if self.task_id is not None:
            self.bar.advance(self.task_id, amount)


@contextmanager
def progress_bar(label: str, *, unit: str = "", enabled: bool = True) -> Iterator[Progress]:
    """A bar on stderr while the block runs, when ``enabled`` and stderr is a terminal; else a
    :class:`Progress` that ignores every report."""
    if not (enabled and sys.stderr.isatty()):
        yield Progress()
        return
    bar = _RichProgress(label, unit)
    with bar.bar:
        yield bar
