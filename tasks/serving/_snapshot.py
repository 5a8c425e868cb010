"""Building and atomically writing the serving snapshot (``serving.json``, docs/serving.md).

Written by the nightly flow and after every promote/rollback; read by applications through
:mod:`flywheel.tasks.serving._client`, never the DuckDB file. The write is a temp file in the same folder,
fsynced, then renamed over the old file (and the folder fsynced), so a reader sees the old file
or the new one, never a mix. Each write takes the next generation from a DuckDB sequence (and
above the generation of the file it replaces), so generations only grow.

An experiment whose file is broken tonight, or whose variant REF no longer resolves, keeps the
entry of the snapshot being replaced (reported under ``problems``): a typo in a YAML file must
not take a running experiment away from the applications.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from flywheel.tasks.ab import Experiment, allocation_rows, periods_of
from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, fetch_dicts, run
from flywheel.tasks.errors import FlywheelError, UsageError
from flywheel.tasks.registry import resolve
from flywheel.tasks.serving._snapshot_format import SCHEMA, SCHEMA_VERSION, SnapshotError, decode, encode
from flywheel.tasks.serving.rollout import (
    CANCELLED,
    RAMPING,
    ensure_experiment_rollouts,
    latest_rollout,
    load_experiment_files,
    rollouts,
)

SNAPSHOT_ACTOR = "flywheel-serving"
_WRITE_LOCK = threading.Lock()


def _prompt_of_ref(ref: str, fallback: str) -> str:
    if "@" in ref:
        return ref.split("@", 1)[0]
    if ":" in ref:
        return ref.split(":", 1)[0]
    return fallback


def _previous(path: Path) -> dict[str, Any] | None:
    """The snapshot being replaced, if it is readable and valid."""
    try:
        return decode(path.read_bytes(), source=str(path))
    except (OSError, SnapshotError):
        return None


def _previous_generation(path: Path) -> int:
    """The generation of the file being replaced (even a corrupt one, if its JSON parses)."""
    try:
        generation = json.loads(path.read_bytes()).get("generation")
    except (OSError, ValueError, AttributeError):
        return 0
    return generation if isinstance(generation, int) and not isinstance(generation, bool) else 0


def _experiment_entry(con: duckdb.DuckDBPyConnection, exp: Experiment) -> dict[str, Any]:
    variants = []
    for name, ref in exp.variants.items():
        version = resolve(con, ref)
        variants.append({"name": name, "hash": version.hash,
                         "prompt": _prompt_of_ref(ref, version.name), "ref": ref})
    entry: dict[str, Any] = {
        "variants": variants, "weights": list(exp.weights), "start": exp.start.isoformat(),
        "end": exp.end.isoformat() if exp.end else None, "rollout": None,
    }
    if exp.allocation is not None:
        entry |= _allocation_entry(con, exp)
    if exp.rollout is not None:
        ramp = latest_rollout(con, "experiment", exp.name)
        if ramp is not None and ramp.status != CANCELLED:
            entry["rollout"] = {"rollout_id": ramp.rollout_id, "stage": ramp.stage,
                                "stages": list(ramp.stages), "fraction": ramp.fraction,
                                "status": ramp.status}
    return entry


def _allocation_entry(con: duckdb.DuckDBPyConnection, exp: Experiment) -> dict[str, Any]:
    """A bandit's weights (docs/serving.md, "Bandit experiments"): ``weights`` is the latest
    period's (what a router without period support serves); ``allocation.periods`` lists every
    period with the moment it starts, and the router serves the latest one started."""
    assert exp.allocation is not None
    periods = periods_of(exp, allocation_rows(con, [exp.name], None)[exp.name])
    latest = periods[-1]
    return {"weights": list(latest.weights), "allocation": {
        "method": exp.allocation.method, "sticky": True, "period": latest.index,
        "phase": latest.phase,
        "periods": [{"period": p.index, "from": p.starts.isoformat(), "phase": p.phase,
                     "weights": list(p.weights)} for p in periods]}}


def build_document(
    con: duckdb.DuckDBPyConnection, settings: Settings, *, now: datetime,
    previous: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The snapshot's content (without generation, time and checksum) and the problems met."""
    problems: list[str] = []
    prompts: dict[str, dict[str, Any]] = {}
    for row in fetch_dicts(con, "serving/labels_all"):
        prompts.setdefault(row["name"], {"labels": {}, "rollouts": {}})["labels"][row["label"]] = \
            row["hash"]
    for ramp in rollouts(con, [RAMPING]):
        if ramp.kind != "promotion" or ramp.prompt_name is None or ramp.label is None:
            continue
        if prompts.get(ramp.prompt_name, {}).get("labels", {}).get(ramp.label) != ramp.to_hash:
            continue  # the label moved outside the ramp: the ramp no longer applies
        prompts[ramp.prompt_name]["rollouts"][ramp.label] = {
            "rollout_id": ramp.rollout_id, "previous": ramp.from_hash, "promoted": ramp.to_hash,
            "stage": ramp.stage, "stages": list(ramp.stages), "fraction": ramp.fraction,
            "experiment": ramp.tag}

    loaded, file_problems = load_experiment_files(settings.dir("experiments"))
    running = {name: e for name, e in loaded.items() if e.end is None or e.end > now}
    ensure_experiment_rollouts(con, list(running.values()), started_at=now, by=SNAPSHOT_ACTOR,
                               now=now)
    experiments: dict[str, Any] = {}
    kept_versions: dict[str, Any] = {}
    prev = previous or {"generation": None, "experiments": {}, "versions": {}}
    old_experiments = prev["experiments"]
    for name, exp in running.items():
        try:
            experiments[name] = _experiment_entry(con, exp)
        except UsageError as exc:
            file_problems[name] = str(exc)
    for name, problem in sorted(file_problems.items()):
        if name in old_experiments and name not in experiments:
            experiments[name] = old_experiments[name]
            for variant in old_experiments[name]["variants"]:
                kept_versions[variant["hash"]] = prev["versions"][variant["hash"]]
            problems.append(f"{problem} (serving generation {prev['generation']}'s entry "
                            f"for {name!r} kept)")
        else:
            problems.append(problem)

    hashes = {h for p in prompts.values() for h in p["labels"].values()}
    hashes |= {h for p in prompts.values() for r in p["rollouts"].values()
               for h in (r["previous"], r["promoted"])}
    hashes |= {v["hash"] for e in experiments.values() for v in e["variants"]}
    versions = {row["hash"]: {"name": row["name"], "content": json.loads(row["content"])}
                for row in fetch_dicts(con, "serving/versions_by_hash",
                                       {"hashes": sorted(hashes - set(kept_versions))})}
    versions |= kept_versions
    missing = sorted(hashes - set(versions))
    if missing:
        raise FlywheelError(f"serving snapshot: versions not in the registry: "
                            f"{', '.join(h[:12] for h in missing)}")
    return {"prompts": prompts, "versions": versions, "experiments": experiments}, problems


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file in the same folder, fsync, rename, fsync folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unchanged(path: Path, previous: dict[str, Any], reason: str, problems: list[str]
               ) -> dict[str, Any]:
    """The snapshot in place already serves this content: nothing is written (a re-run of a
    night leaves the file, its generation and the ledger as they were)."""
    return {"path": str(path), "generation": previous["generation"],
            "sha256": previous.get("sha256"), "bytes": path.stat().st_size, "reason": reason,
            "generated_at": previous.get("generated_at"), "unchanged": True,
            "prompts": len(previous["prompts"]), "experiments": len(previous["experiments"]),
            "rollouts": sum(len(p["rollouts"]) for p in previous["prompts"].values())
            + sum(1 for e in previous["experiments"].values() if e.get("rollout")),
            "problems": problems}


def write_snapshot(settings: Settings, *, reason: str, now: datetime | None = None,
                   skip_unchanged: bool = False) -> dict[str, Any]:
    """Build the snapshot from the store and the experiment files and write it atomically to
    ``settings.serving_file``. Returns what was written (path, generation, sha256, counts,
    problems); with ``skip_unchanged``, nothing is written when the file in place holds the
    same content (``unchanged``: true)."""
    now = now or datetime.now(UTC)
    path = settings.serving_file
    with _WRITE_LOCK, connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        previous = _previous(path)
        body, problems = build_document(con, settings, now=now, previous=previous)
        if skip_unchanged and previous is not None and all(
                previous.get(k) == v for k, v in body.items()):
            return _unchanged(path, previous, reason, problems)
        generation = max(int(run(con, "serving/generation_next").fetchone()[0]),
                         _previous_generation(path) + 1)
        document = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "generation": generation,
                    "generated_at": now.isoformat(timespec="milliseconds"), "reason": reason,
                    **body}
        data = encode(document)
        _atomic_write(path, data)
        sha = json.loads(data)["sha256"]
        counts = {"prompts": len(body["prompts"]), "experiments": len(body["experiments"]),
                  "rollouts": sum(len(p["rollouts"]) for p in body["prompts"].values())
                  + sum(1 for e in body["experiments"].values() if e["rollout"])}
        run(con, "serving/snapshot_insert", {"generation": generation, "path": str(path),
                                             "sha256": sha, "bytes": len(data), "reason": reason,
                                             "now": now, **counts})
    return {"path": str(path), "generation": generation, "sha256": sha, "bytes": len(data),
            "reason": reason, "generated_at": document["generated_at"], **counts,
            "problems": problems}


def recent_snapshots(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[dict[str, Any]]:
    """The newest snapshots written (the ledger), newest first."""
    return fetch_dicts(con, "serving/snapshots_recent", {"limit": limit})
