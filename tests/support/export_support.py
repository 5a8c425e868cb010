"""Helpers the export tests share: a sample project in DuckDB, reading export files back."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.registry._store import register_version
from flywheel.tasks.sample_data import SampleSpec, write_sample_data


def register_prompts(settings: Settings, folder: Path) -> None:
    """Register every prompt YAML under ``folder`` (what `prompts sync` will do)."""
    with connect(settings.db_path) as con:
        for path in sorted(folder.rglob("*.yaml")):
            register_version(con, yaml.safe_load(path.read_text("utf-8")), source_file=str(path))


def sample_project(
    root: Path, *, days: int = 3, users: int = 300, keep_evalsets: bool = False, **overrides: Any
) -> Settings:
    """A sample project with its logs ingested and its prompts registered.

    The example eval sets are removed unless ``keep_evalsets``: they are written from the same
    questions and tickets as the sample traffic, so the leakage guard would (rightly) drop
    every sample example, and tests of everything else need examples to look at.
    """
    write_sample_data(root, SampleSpec(days=days, users=users))
    if not keep_evalsets:
        shutil.rmtree(root / "evalsets", ignore_errors=True)
    settings = load_settings(db=root / "flywheel.duckdb", project_dir=root, **overrides)
    ingest_paths(settings, [root / "landing"])
    register_prompts(settings, root / "prompts")
    return settings


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL file."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def sha256s(folder: Path) -> dict[str, str]:
    """sha256 of every file in an export folder."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def manifest(folder: Path) -> dict[str, Any]:
    """The export's manifest.json."""
    return json.loads((folder / "manifest.json").read_text("utf-8"))


def assistant_of(example: dict[str, Any]) -> str:
    """The final assistant message of a fine-tuning example."""
    assert example["messages"][-1]["role"] == "assistant"
    return example["messages"][-1]["content"]


def user_of(example: dict[str, Any]) -> str:
    """The last user message of a fine-tuning example."""
    return [m["content"] for m in example["messages"] if m["role"] == "user"][-1]
