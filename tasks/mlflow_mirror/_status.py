"""The mirror's ledger and status in DuckDB, and :func:`mirror_status`, the one query a report
needs to say whether MLflow is behind flywheel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb

from flywheel.tasks.config import Settings
from flywheel.tasks.db import fetch_dicts, run, transaction
from flywheel.tasks.mlflow_mirror._collect import load_macros

KIND_LABELS = {"eval": "eval runs", "ab": "A/B nights", "prompt_version": "prompt versions",
               "alias": "aliases"}


def public_uri(uri: str) -> str:
    """The tracking URI without credentials (``https://user:secret@host`` → ``https://host``):
    what the ledger, logs and reports show."""
    parts = urlsplit(uri)
    if parts.password is None and parts.username is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class LedgerEntry:
    """One item settled in MLflow (``mlflow_ref`` None: it cannot be mirrored, see ``note``)."""

    kind: str
    item_key: str
    fingerprint: str
    mlflow_ref: str | None
    note: str | None = None


def record_attempt(con: duckdb.DuckDBPyConnection, uri: str, at: datetime,
                   entries: Sequence[LedgerEntry], error: str | None,
                   counts: dict[str, Any]) -> None:
    """Write the settled items and the attempt's outcome in one transaction."""
    with transaction(con):
        for entry in entries:
            run(con, "mlflow/item_upsert", {"uri": uri, "synced_at": at, **asdict(entry)})
        run(con, "mlflow/status_upsert", {"uri": uri, "at": at, "error": error,
                                          "counts": json.dumps(counts, default=str)})


@dataclass
class MirrorStatus:
    """Whether MLflow holds what flywheel holds.

    ``behind`` is true when the mirror is on and either its last attempt failed or some item
    (eval run, A/B night, prompt version, alias) is not mirrored in its current state.
    ``message`` is one line for a report ("MLflow mirror is behind: …"), None when all is well
    or the mirror is off.
    """

    enabled: bool
    tracking_uri: str | None = None
    behind: bool = False
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    pending: dict[str, int] = field(default_factory=dict)
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = asdict(self)
        for key in ("last_attempt_at", "last_success_at", "last_error_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def _message(status: MirrorStatus) -> str | None:
    if not status.behind:
        return None
    parts = []
    if status.last_attempt_at is None:
        parts.append("it has never run")
    elif status.last_error:
        parts.append(f"the last attempt ({status.last_attempt_at:%Y-%m-%d %H:%M} UTC) failed: "
                     f"{status.last_error}")
    waiting = ", ".join(f"{n} {KIND_LABELS.get(k, k)}" for k, n in status.pending.items() if n)
    if waiting:
        parts.append(f"not yet in MLflow: {waiting}")
    since = (f"last complete sync {status.last_success_at:%Y-%m-%d %H:%M} UTC"
             if status.last_success_at else "no complete sync yet")
    return f"MLflow mirror ({status.tracking_uri}) is behind: {'; '.join(parts)} ({since})"


def mirror_status(con: duckdb.DuckDBPyConnection, settings: Settings) -> MirrorStatus:
    """The MLflow mirror's state for a report: on or off, last attempt, last success, last
    error, what is not mirrored yet, and a one-line ``message`` when it is behind.

    Read-only (works on a ``read_only`` connection); no MLflow call and no MLflow import.
    """
    if not settings.mlflow_tracking_uri:
        return MirrorStatus(enabled=False)
    uri = public_uri(settings.mlflow_tracking_uri)
    load_macros(con)
    pending = {r["kind"]: int(r["pending"])
               for r in fetch_dicts(con, "mlflow/pending_counts", {"uri": uri})}
    rows = fetch_dicts(con, "mlflow/status_get", {"uri": uri})
    row = rows[0] if rows else {}
    status = MirrorStatus(
        enabled=True, tracking_uri=uri, pending=pending,
        last_attempt_at=row.get("last_attempt_at"), last_success_at=row.get("last_success_at"),
        last_error=row.get("last_error"), last_error_at=row.get("last_error_at"),
    )
    status.behind = bool(not row or row.get("last_error") or any(pending.values()))
    status.message = _message(status)
    return status
