"""One mirror attempt: read what flywheel holds, send what MLflow lacks, record the outcome.

It never raises: MLflow being down, misconfigured or not installed ends the attempt with a
``warning`` naming the reason, persisted as the mirror's last error (``mirror_status`` then says
the mirror is behind). Items already settled stay settled; the next attempt sends the rest.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect
from flywheel.tasks.mlflow_mirror._collect import collect
from flywheel.tasks.mlflow_mirror._records import describe_error
from flywheel.tasks.mlflow_mirror._status import LedgerEntry, public_uri, record_attempt

MAX_CONSECUTIVE_FAILURES = 3  # then the store is taken to be unusable and the attempt stops
OFF_NOTE = "MLflow mirror off: MLFLOW_TRACKING_URI (or mlflow_tracking_uri) is not set"


class MirrorUnavailable(RuntimeError):
    """MLflow cannot be used at all (not installed, or the store does not answer)."""


def mirror_enabled(settings: Settings) -> bool:
    """Whether a tracking URI is configured (the mirror is off otherwise)."""
    return bool(settings.mlflow_tracking_uri)


class _Attempt:
    """Counts, ledger entries and errors of one attempt."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self.secrets = [s for s in secrets if s]
        self.counts = {"runs_created": 0, "runs_updated": 0, "runs_unchanged": 0,
                       "runs_recreated": 0, "prompt_versions_created": 0, "aliases_moved": 0}
        self.entries: list[LedgerEntry] = []
        self.errors: list[str] = []
        self.skipped_aliases: list[dict[str, str]] = []
        self.consecutive = 0

    def failed(self, what: str, exc: BaseException) -> None:
        self.errors.append(f"{what}: {describe_error(exc, self.secrets)}")
        self.consecutive += 1
        if self.consecutive >= MAX_CONSECUTIVE_FAILURES:
            raise MirrorUnavailable(f"stopped after {self.consecutive} failures in a row")

    def succeeded(self) -> None:
        self.consecutive = 0

    def error(self) -> str | None:
        if not self.errors:
            return None
        more = len(self.errors) - 3
        return "; ".join(self.errors[:3]) + (f" (and {more} more)" if more > 0 else "")


def _import_target() -> Any:
    try:  # import_module, not `from … import target`: a package attribute would hide an ImportError
        return importlib.import_module("flywheel.tasks.mlflow_mirror._target")
    except ImportError as exc:
        raise MirrorUnavailable(
            f"MLFLOW_TRACKING_URI is set but mlflow cannot be imported ({exc}): "
            "pip install -e '.[mlflow]'") from None


def _push(settings: Settings, uri: str, plan: Any, attempt: _Attempt) -> str:
    target_module = _import_target()
    with target_module.http_limits(settings.mlflow_timeout_s):
        target = target_module.open_target(settings.mlflow_tracking_uri,
                                           settings.mlflow_artifact_location,
                                           settings.mlflow_timeout_s)
        versions: dict[tuple[str, str], str] = {}
        for name, records in plan.prompts.items():
            labels = plan.labels.get(name, {})
            try:
                outcome = target.sync_prompt(name, records, labels)
            except Exception as exc:  # one prompt's trouble does not stop the others
                attempt.failed(f"prompt {name}", exc)
                continue
            attempt.succeeded()
            attempt.counts["prompt_versions_created"] += outcome.created
            attempt.counts["aliases_moved"] += outcome.aliases_moved
            for digest, number in outcome.versions.items():
                versions[(name, digest)] = number
            attempt.entries += [LedgerEntry("prompt_version", f"{name}/{r.hash}", r.hash,
                                            f"{name}/{outcome.versions[r.hash]}") for r in records]
            for label, digest in labels.items():
                reason = outcome.skipped_aliases.get(label)
                if reason:
                    attempt.skipped_aliases.append({"prompt": name, "label": label,
                                                    "reason": reason})
                attempt.entries.append(LedgerEntry("alias", f"{name}@{label}", digest,
                                                   None if reason else f"{name}@{label}", reason))
        for item, record in plan.runs:
            try:
                parent = target.upsert_run(record, prompt_versions=versions)
                outcomes = [parent] + [target.upsert_run(child, parent.run_id, versions)
                                       for child in record.children]
            except Exception as exc:
                attempt.failed(f"{item.kind} {item.item_key}", exc)
                continue
            attempt.succeeded()
            for outcome in outcomes:
                attempt.counts[f"runs_{outcome.action}"] += 1
            attempt.entries.append(LedgerEntry(item.kind, item.item_key, item.fingerprint,
                                               parent.run_id))
        return target_module.MLFLOW_VERSION


def run_mirror(settings: Settings, *, full: bool = False, names: Sequence[str] | None = None,
               runs: bool = True) -> dict[str, Any]:
    """Mirror eval runs, A/B nights, prompt versions and labels into MLflow.

    ``full`` re-checks every item against MLflow (not only those the ledger lacks); ``names``
    limits prompts and aliases to these prompt names; ``runs=False`` mirrors prompts only (what
    a label move needs). Returns the counts, ``status`` ("ok" or "behind") and a ``warning``
    with the reason when something could not be mirrored; never raises.
    """
    if not mirror_enabled(settings):
        return {"enabled": False, "status": "off", "note": OFF_NOTE}
    raw = str(settings.mlflow_tracking_uri)
    uri = public_uri(raw)
    attempt = _Attempt([urlsplit(raw).password or ""])
    started, clock = datetime.now(UTC), time.perf_counter()
    version = None
    try:
        plan = collect(settings, uri, full=full, names=names, runs=runs)
        version = _push(settings, uri, plan, attempt)
    except MirrorUnavailable as exc:
        attempt.errors.append(str(exc))
    except Exception as exc:  # MLflow (or anything else) failing never fails the caller
        attempt.errors.append(describe_error(exc, attempt.secrets))
    error = attempt.error()
    warnings = []
    try:
        with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
            record_attempt(con, uri, started, attempt.entries, error, attempt.counts)
    except Exception as exc:
        warnings.append(f"mirror status not recorded: {describe_error(exc, attempt.secrets)}")
    if error:
        warnings.insert(0, f"MLflow mirror to {uri} is behind: {error}")
    return {
        "enabled": True, "tracking_uri": uri, "status": "behind" if error else "ok",
        "warning": "; ".join(warnings) or None, **attempt.counts,
        "errors": len(attempt.errors), "error_messages": attempt.errors,
        "aliases_skipped": attempt.skipped_aliases, "items_settled": len(attempt.entries),
        "mlflow_version": version, "seconds": round(time.perf_counter() - clock, 3),
    }
