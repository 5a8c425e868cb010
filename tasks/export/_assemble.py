"""``export assemble``: one cumulative export from the nightly parts (docs/exports.md).

The nightly writes each night's part into ``<project>/exports/<date>/<kind>/``: that night's
feedback, less what earlier nights' parts wrote. Assembling reads the parts of a range of nights
in date order and concatenates each file, dropping again any exact or normalized duplicate
(the earliest is kept) and any example that matches a case of the eval sets as they are now (an
eval set may have grown since a part was written), then writes the files and ``manifest.json``
as every export does. The fine-tuning split is by the hash of each example, so a part's train
and validation lines stay in train and validation.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.export._common import Deduplicator, Tools, output_dir
from flywheel.tasks.export._finetune import TRAIN, VALIDATION
from flywheel.tasks.export._hard_examples import HARD_EXAMPLES, PROVENANCE
from flywheel.tasks.export._output import MANIFEST, write_export
from flywheel.tasks.export._preferences import PREFERENCES
from flywheel.tasks.export._text import exact_key, normalize, normalized_messages_key, vars_text

# Per kind: the data files of a part, and what dedup and the leakage guard read of a line:
# (exact key, normalized key, the texts the guard compares).
Keys = tuple[str, str, list[str]]


def _last_user(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("content", "")) for m in messages if m.get("role") == "user"][-1:]


def _chat_keys(record: dict[str, Any]) -> Keys:
    messages = record["messages"]
    return exact_key(record), normalized_messages_key(messages), _last_user(messages)


def _preference_keys(record: dict[str, Any]) -> Keys:
    messages = record["input"]["messages"]
    both = [*messages, *record["preferred_output"], *record["non_preferred_output"]]
    return exact_key(record), normalized_messages_key(both), _last_user(messages)


def _case_keys(record: dict[str, Any]) -> Keys:
    text = vars_text(record["vars"])
    return record["id"], exact_key([record["tags"][1], normalize(text)]), [text]


PARTS: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], Keys]]] = {
    "finetune": ((TRAIN, VALIDATION), _chat_keys),
    "preferences": ((PREFERENCES,), _preference_keys),
    "hard-examples": ((HARD_EXAMPLES,), _case_keys),
}


def nightly_parts(settings: Settings, kind: str, since: date | None, until: date | None
                  ) -> list[tuple[date, Path]]:
    """The nights (in ``[since, until]``) with a complete part of ``kind``, in date order."""
    root = settings.project_dir / "exports"
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            night = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if (since is None or night >= since) and (until is None or night <= until) \
                and (folder / kind / MANIFEST).is_file():
            found.append((night, folder / kind))
    return found


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def assemble_parts(settings: Settings, kind: str, out: str | Path, since: date | None = None,
                   until: date | None = None) -> dict[str, Any]:
    """Write the cumulative export of ``kind`` from the nightly parts into ``out``; returns
    what was written and dropped."""
    if kind not in PARTS:
        raise UsageError(f"unknown export kind {kind!r}; known: {', '.join(PARTS)}")
    names, keys_of = PARTS[kind]
    parts = nightly_parts(settings, kind, since, until)
    guard, dedup = Tools.from_settings(settings).guard, Deduplicator()
    files: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    dropped: Counter[str] = Counter()
    for _, folder in parts:
        for name in names:
            for record in _read(folder / name):
                exact, normalized, texts = keys_of(record)
                duplicate = dedup.duplicate_of(exact, normalized)
                if duplicate or guard.check(texts):
                    dropped["duplicate" if duplicate else "in_evalset"] += 1
                    continue
                files[name].append(record)
    if kind == "hard-examples":  # each kept case's provenance, from the part that wrote it
        ids = {c["id"] for c in files[HARD_EXAMPLES]}
        by_id = {p["id"]: p for _, folder in reversed(parts) for p in _read(folder / PROVENANCE)
                 if p.get("id") in ids}
        files[PROVENANCE] = [by_id[c["id"]] for c in files[HARD_EXAMPLES] if c["id"] in by_id]
    manifest = {"kind": kind, "format": "flywheel-assembled-parts",
                "examples": sum(len(files[n]) for n in names),
                "parts": [night.isoformat() for night, _ in parts],
                "dropped": dict(sorted(dropped.items())), "dropped_total": sum(dropped.values())}
    out_dir = output_dir(out)
    written = write_export(out_dir, files, manifest)
    return {**written, "out_dir": str(out_dir), "manifest": str(out_dir / MANIFEST)}
