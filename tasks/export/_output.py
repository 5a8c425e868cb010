"""Writing an export: files to a temporary name then renamed, ``manifest.json`` last, a ledger row.

Every byte written is a function of the data and the settings (no clock, no random order), so
an export repeated over the same data produces files with the same sha256. A file whose bytes
are already on disk is left untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, run, transaction
from flywheel.tasks.errors import FlywheelError

MANIFEST = "manifest.json"


def jsonl_bytes(records: Iterable[Mapping[str, Any]]) -> bytes:
    """JSON Lines: one compact UTF-8 object per line, each line ending in a newline."""
    return b"".join(
        (json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) + "\n").encode("utf-8")
        for r in records
    )


def write_atomic(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename;
    returns its sha256. Readers never see a half-written file."""
    digest = hashlib.sha256(data).hexdigest()
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
        return digest
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise FlywheelError(f"cannot write {path}: {exc}") from None
    return digest


def write_export(
    out_dir: Path, files: Mapping[str, list[dict[str, Any]]], manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write the data files, then the manifest (with each file's line count and sha256).

    Returns the completed manifest.
    """
    described: dict[str, dict[str, Any]] = {}
    for name, records in files.items():
        data = jsonl_bytes(records)
        described[name] = {"lines": len(records), "bytes": len(data),
                           "sha256": write_atomic(out_dir / name, data)}
    manifest = {**manifest, "files": described}
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    write_atomic(out_dir / MANIFEST, text.encode("utf-8"))
    return manifest


def record_run(
    settings: Settings, kind: str, out_dir: Path, manifest: dict[str, Any], dropped: int
) -> dict[str, Any]:
    """Add the export to the ledger, unless it equals the previous one into that folder (a
    re-run of the same export adds no row); says which."""
    text = (out_dir / MANIFEST).read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    examples = int(manifest["examples"])
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        previous = run(con, "export/ledger_previous",
                       {"kind": kind, "out_dir": str(out_dir)}).fetchone()
        if previous and previous[0] == digest:  # the same export again: the ledger has it
            return {"run_id": int(previous[1]), "manifest_sha256": digest, "unchanged": True}
        run_id = run(con, "export/ledger_insert", {
            "kind": kind, "out_dir": str(out_dir), "manifest_sha256": digest,
            "examples": examples, "dropped": dropped, "manifest": text.decode("utf-8"),
            "now": datetime.now(UTC),
        }).fetchone()[0]
    return {"run_id": int(run_id), "manifest_sha256": digest,
            "unchanged": bool(previous and previous[0] == digest)}


def earlier_keys(settings: Settings, kind: str, night: date) -> dict[str, frozenset[str]]:
    """The dedup keys of ``kind`` the nightly parts before ``night`` wrote, by key kind."""
    keys: dict[str, set[str]] = {}
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        for key_kind, key in run(con, "export/keys_earlier",
                                 {"kind": kind, "night": night}).fetchall():
            keys.setdefault(key_kind, set()).add(key)
    return {k: frozenset(v) for k, v in keys.items()}


def save_keys(settings: Settings, kind: str, night: date, keys: Mapping[str, list[str]]) -> None:
    """Replace the dedup keys ``night``'s part of ``kind`` wrote (a re-run writes the same)."""
    kinds = [k for k, values in sorted(keys.items()) for _ in values]
    values = [v for _, vs in sorted(keys.items()) for v in vs]
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con, \
            transaction(con):
        run(con, "export/keys_delete_night", {"kind": kind, "night": night})
        if values:
            run(con, "export/keys_insert",
                {"kind": kind, "night": night, "key_kinds": kinds, "keys": values})
