"""Selecting export candidates in DuckDB and rebuilding the messages each request was sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import jinja2

from flywheel.tasks.config import FEEDBACK_EARLY_LIMIT
from flywheel.tasks.db import fetch_dicts, run
from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry import render_messages

# Messages logged with a role the fine-tuning format spells differently.
_ROLE_ALIASES = {"developer": "system"}


@dataclass(frozen=True)
class Window:
    """The half-open time window ``[since, until)`` of the feedback an export covers."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None) -> Window:
        """From ``--since DATE`` (first day included) and ``--until DATE`` (last day included);
        full ISO timestamps are taken as they are (UTC when they carry no offset)."""
        return cls(_instant(since, "--since", end=False), _instant(until, "--until", end=True))

    def params(self) -> dict[str, Any]:
        """The bound SQL parameters."""
        return {"since": self.since, "until": self.until}

    def describe(self) -> dict[str, str | None]:
        """The window as ISO strings, for manifests."""
        return {"since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}


def _instant(text: str | None, option: str, *, end: bool) -> datetime | None:
    if not text:
        return None
    try:
        if len(text.strip()) == 10:  # a date: its first instant, or the first of the next day
            day = date.fromisoformat(text.strip()) + timedelta(days=1 if end else 0)
            return datetime.combine(day, datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected YYYY-MM-DD or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Candidate:
    """A request selected for an export, with the text that will become the example."""

    request_id: str
    source: str  # correction | rated
    feedback_ts: datetime
    request_ts: datetime
    prompt_name: str | None
    prompt_hash: str | None  # the full hash when it resolved, else as logged
    model: str
    input: dict[str, Any] | None
    target: str  # the assistant message to train on (the correction, or a well-rated output)
    output: str | None  # what the model answered
    messages: list[dict[str, Any]] | None = None  # the request's messages (without the answer)
    repeats: int = 0  # other candidates that make exactly the same example (merged in SQL)


def _json(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def rebuild_messages(row: Mapping[str, Any]) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The messages of a request: as logged, else rendered from its prompt version and input.

    Returns ``(messages, None)`` or ``(None, reason)`` when they cannot be rebuilt.
    """
    logged = _json(row["messages"])
    if logged is not None:
        if not isinstance(logged, list):
            return None, "logged_messages_not_a_list"
        return [
            {**m, "role": _ROLE_ALIASES.get(m.get("role"), m.get("role"))}
            if isinstance(m, dict) else m
            for m in logged
        ], None
    if row["prompt_hash"] is None:
        return None, "no_messages_and_no_prompt_hash"
    if row["n_versions"] == 0:
        return None, "unknown_prompt_version"
    if row["n_versions"] > 1:
        return None, "ambiguous_prompt_version"
    variables = _json(row["input"])
    if not isinstance(variables, dict):
        return None, "no_input_to_render"
    try:
        return render_messages(json.loads(row["version_content"]), variables), None
    except UsageError:
        return None, "missing_template_variable"
    except jinja2.TemplateError:
        return None, "template_error"


def read_bounds(con: duckdb.DuckDBPyConnection, window: Window) -> dict[str, Any]:
    """The window's parameters and how far back its exports read (``export/window_bounds.sql``:
    from its earliest request with feedback), on a connection with the export macros."""
    bounds = fetch_dicts(con, "export/window_bounds",
                         {**window.params(), "feedback_early": FEEDBACK_EARLY_LIMIT})[0]
    return {**window.params(), **bounds}


def training_candidates(
    con: duckdb.DuckDBPyConnection, window: Window, *, include_rated: bool
) -> tuple[list[Candidate], dict[str, int]]:
    """Corrected (and optionally well-rated) requests with their rebuilt messages, oldest first
    (candidates that make the same example as one, with its ``repeats``); and how many could
    not be rebuilt, by reason."""
    run(con, "export/macros")
    rows = fetch_dicts(con, "export/training_candidates",
                       {**read_bounds(con, window), "include_rated": include_rated})
    candidates: list[Candidate] = []
    dropped: dict[str, int] = {}
    for row in rows:
        messages, reason = rebuild_messages(row)
        if reason:
            dropped[reason] = dropped.get(reason, 0) + 1 + int(row["repeats"])
            continue
        candidates.append(Candidate(
            request_id=row["request_id"], source=row["source"], feedback_ts=row["feedback_ts"],
            request_ts=row["request_ts"], prompt_name=row["prompt_name"],
            prompt_hash=row["version_hash"] or row["prompt_hash"], model=row["model"],
            input=_json(row["input"]), target=row["target"], output=row["output"],
            messages=messages, repeats=int(row["repeats"]),
        ))
    return candidates, dropped
