"""Helpers shared by the offline-eval tests: a demo-model server and a small eval project."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from flywheel.tasks.db import connect
from flywheel.tasks.registry._store import register_version
from flywheel.tasks.sample_data import _content as content

REPO = Path(__file__).resolve().parents[2]
API_KEY = "sk-test-SECRET-4f1c2d9e8b7a6c5d"
FAST_TOML = """eval_backoff_base_s = 0.01
eval_backoff_max_s = 0.05
eval_timeout_s = 0.5
eval_max_attempts = 8
eval_concurrency = 16
"""


def support_cases(n: int) -> list[dict[str, Any]]:
    """``n`` distinct support cases cycling through the policy bank (each its own order id)."""
    cases = []
    for i in range(n):
        question, _, corrected = content.SUPPORT_QA[i % len(content.SUPPORT_QA)]
        order_id = f"Z-{i:05d}"
        cases.append({"id": f"case-{i:03d}", "vars": {"question": question, "order_id": order_id},
                      "reference": corrected,
                      "assert": [{"type": "similar", "threshold": 0.75},
                                 {"type": "contains", "value": order_id}],
                      "tags": [f"group-{i % 4}"]})
    return cases


def make_project(root: Path, cases: Sequence[dict[str, Any]], *, toml: str = FAST_TOML,
                 name: str = "support.jsonl") -> tuple[Path, Path, dict[str, str]]:
    """A project folder with an eval set and flywheel.toml, and a DuckDB file with the
    example prompts registered; returns (project dir, eval set path, file stem → hash)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "flywheel.toml").write_text(toml)
    evalset = root / "evalsets" / name
    evalset.parent.mkdir(parents=True, exist_ok=True)
    evalset.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases))
    (root / "evalsets" / "checks.py").write_text((REPO / "evalsets" / "checks.py").read_text())
    hashes = {}
    with connect(root / "flywheel.duckdb") as con:
        for path in sorted((REPO / "prompts").rglob("*.yaml")):
            version, _ = register_version(con, yaml.safe_load(path.read_text()))
            hashes[f"{path.parent.name}/{path.stem}"] = version.hash
    return root, evalset, hashes
