"""The night's step table (flows/steps.py) is the one source of the step list: the docs and
prefect.yaml agree with it, and a table that waits for a later or unknown step is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from flywheel.flows.steps import STEP_NAMES, STEPS, Step, check_steps, steps_graph, steps_table

REPO = Path(__file__).resolve().parents[2]


def _block(path: Path, name: str) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"<!-- steps:{name} -->\n(.*?)\n<!-- /steps:{name} -->", text, re.S)
    assert match, f"{path.name} has no <!-- steps:{name} --> block"
    return match.group(1).strip()


def test_operations_doc_lists_the_steps_of_the_table() -> None:
    assert _block(REPO / "docs/operations.md", "table") == steps_table(), (
        "docs/operations.md's step table differs from flows/steps.py; replace the block with:\n"
        + steps_table())


def test_architecture_doc_draws_the_dag_of_the_table() -> None:
    expected = f"```\n{steps_graph()}\n```"
    assert _block(REPO / "docs/architecture.md", "graph") == expected, (
        "docs/architecture.md's step graph differs from flows/steps.py; replace the block with:\n"
        + expected)


def test_the_nightly_deployment_names_every_step_in_order() -> None:
    config = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    nightly = next(d for d in config["deployments"] if d["name"] == "nightly")
    assert nightly["entrypoint"] == "flows/nightly.py:nightly_flywheel"
    named = [name for name in re.findall(r"[a-z]+(?:-[a-z]+)*", nightly["description"])
             if name in STEP_NAMES]
    assert named == list(STEP_NAMES)


def test_every_step_waits_only_for_steps_declared_before_it() -> None:
    check_steps()
    assert len(STEPS) >= 8 and len({s.summary_key for s in STEPS}) == len(STEPS)
    with pytest.raises(ValueError, match="waits for report, not declared before it"):
        check_steps((Step("a", print, "a", "x", after=("report",)),))
    with pytest.raises(ValueError, match="declared twice"):
        check_steps((Step("a", print, "a", "x"), Step("a", print, "a", "x")))


def test_the_dag_lets_independent_steps_run_at_the_same_time() -> None:
    """The offline eval's model calls wait for neither the A/B analysis nor the export."""
    def ancestors(name: str) -> set[str]:
        step = next(s for s in STEPS if s.name == name)
        return set(step.upstream).union(*(ancestors(u) for u in step.upstream))

    for a, b in (("offline-eval", "ab-analysis"), ("offline-eval", "export"),
                 ("export", "ab-analysis"), ("monitoring", "ab-analysis")):
        assert a not in ancestors(b) and b not in ancestors(a)
