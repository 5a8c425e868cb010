"""Read-only views of the registry: list, show, diff."""

from __future__ import annotations

import difflib
import json
from typing import Any

import duckdb

from flywheel.tasks.db import fetch_dicts
from flywheel.tasks.registry._hashing import SHORT_HASH_LEN, canonical_json
from flywheel.tasks.registry._loader import template_variables
from flywheel.tasks.registry._store import PromptVersion, resolve

DIFF_CONTEXT = 3


def list_prompts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every prompt name with its version count and its labels (label → full hash)."""
    out = []
    for row in fetch_dicts(con, "registry/list_prompts"):
        out.append({
            "name": row["name"], "versions": int(row["versions"]),
            "first_registered": row["first_registered"].isoformat(),
            "last_registered": row["last_registered"].isoformat(),
            "labels": {item["label"]: item["hash"] for item in row["labels"]},
        })
    return out


def show(con: duckdb.DuckDBPyConnection, ref: str) -> dict[str, Any]:
    """A version with everything known about it: names, labels, files, content, variables."""
    version = resolve(con, ref)
    row = fetch_dicts(con, "registry/version_get", {"hash": version.hash})[0]
    names = fetch_dicts(con, "registry/names_of_hash", {"hash": version.hash})
    labels = fetch_dicts(con, "registry/labels_of_hash", {"hash": version.hash})
    return {
        "ref": ref, "hash": version.hash, "short": version.short, "name": version.name,
        "first_seen": row["first_seen"].isoformat(),
        "names": [{"name": n["name"], "source_file": n["source_file"],
                   "first_seen": n["first_seen"].isoformat()} for n in names],
        "labels": [f"{r['name']}@{r['label']}" for r in labels],
        "metadata": version.metadata,
        "content": version.content,
        "variables": template_variables(version.content.get("template", "")),
        "canonical_json": canonical_json(version.content),
        "provenance": provenance_of(con, version.hash),
    }


def provenance_of(con: duckdb.DuckDBPyConnection, digest: str) -> dict[str, Any] | None:
    """What a version flywheel generated was built from (``prompt_provenance``, written by
    tasks/optimize); None for a version a person wrote."""
    rows = fetch_dicts(con, "registry/provenance_get", {"hash": digest})
    if not rows:
        return None
    out = dict(rows[0])
    for key in ("feedback_ids", "feedback_days", "excluded_cases", "details"):
        out[key] = json.loads(out[key])
    out["created_at"] = out["created_at"].isoformat()
    out["built_for"] = out["built_for"].isoformat() if out["built_for"] else None
    # the names docs/contracts.md gives them
    out["parent"] = out.pop("parent_hash")
    out["excluded_eval_cases"] = out.pop("excluded_cases")
    return out


def _block(title: str, text: str) -> list[str]:
    # split("\n") (not splitlines) keeps the text exactly: a trailing newline shows as a last
    # empty line, so two versions that differ only there still differ in the diff.
    return [f"{title}:"] + [f"  {line}" for line in text.split("\n")]


def content_lines(content: dict[str, Any]) -> list[str]:
    """The canonical content as diff-friendly lines: every hashed field, strings line by line."""
    lines = [f"model: {content.get('model', '')}"]
    for key, value in sorted((content.get("params") or {}).items()):
        lines.append(f"params.{key}: {json.dumps(value, sort_keys=True, ensure_ascii=False)}")
    if "system" in content:
        lines += _block("system", content["system"])
    for i, message in enumerate(content.get("few_shot") or []):
        lines += _block(f"few_shot[{i}] {message.get('role')}", str(message.get("content", "")))
    lines += _block("template", content.get("template", ""))
    return lines


def _label(version: PromptVersion, ref: str) -> str:
    return f"{version.name}:{version.short} ({ref})"


def diff_versions(con: duckdb.DuckDBPyConnection, ref_a: str, ref_b: str) -> dict[str, Any]:
    """The unified diff of two versions' canonical content, and which hashed keys differ."""
    a, b = resolve(con, ref_a), resolve(con, ref_b)
    text = "\n".join(difflib.unified_diff(
        content_lines(a.content), content_lines(b.content),
        fromfile=_label(a, ref_a), tofile=_label(b, ref_b), lineterm="", n=DIFF_CONTEXT,
    ))
    keys = sorted(k for k in set(a.content) | set(b.content)
                  if a.content.get(k) != b.content.get(k))
    return {
        "a": {"ref": ref_a, "hash": a.hash, "name": a.name},
        "b": {"ref": ref_b, "hash": b.hash, "name": b.name},
        "identical": a.hash == b.hash, "changed_keys": keys, "diff": text,
    }


def short(hash_: str | None) -> str:
    """The short form of a hash, or '-' for none."""
    return hash_[:SHORT_HASH_LEN] if hash_ else "-"


def move_diff(con: duckdb.DuckDBPyConnection, from_hash: str | None, to_hash: str) -> str:
    """The unified diff of the content a label moved from and to ('' for a new label)."""
    if from_hash is None or from_hash == to_hash:
        return ""
    a, b = resolve(con, from_hash), resolve(con, to_hash)
    return "\n".join(difflib.unified_diff(
        content_lines(a.content), content_lines(b.content),
        fromfile=f"{a.name}:{a.short}", tofile=f"{b.name}:{b.short}", lineterm="", n=DIFF_CONTEXT,
    ))


def lineage_of(con: duckdb.DuckDBPyConnection, digest: str, until: Any) -> dict[str, Any] | None:
    """A generated version's lineage for the reports: its provenance, the label moves to it up
    to ``until`` and its ramps; None for a version a person wrote."""
    provenance = provenance_of(con, digest)
    if provenance is None:
        return None
    moves = [{**m, "moved_at": m["moved_at"].isoformat()}
             for m in fetch_dicts(con, "registry/moves_to_version", {"hash": digest, "until": until})]
    ramps = [{**r, "run_date": r["run_date"].isoformat() if r["run_date"] else None}
             for r in fetch_dicts(con, "registry/ramps_of_version", {"hash": digest, "until": until})]
    return {"provenance": provenance, "moves": moves, "ramps": ramps}
