"""Real human-judged data: Tulu-1 human-eval annotations (two models' completions per prompt,
judged acceptable or not) joined to Self-Instruct's human-written outputs, which stand in for a
person's correction of each completion."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.export import export_finetune, export_preferences, validate_file
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.redact import redact
from tests.conftest import shared_data
from tests.support.export_support import assistant_of, manifest, read_jsonl, user_of

pytestmark = pytest.mark.unit


def tulu_logs() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """Request and feedback records (§2) built from the two files; and prompt → human output."""
    annotations = read_jsonl(shared_data("feedback/tulu1_human_eval_annotations.jsonl"))
    tasks = {t["id"]: t for t in
             read_jsonl(shared_data("feedback/self_instruct_user_oriented_instructions.jsonl"))}
    requests: dict[str, dict[str, Any]] = {}
    feedback: list[dict[str, Any]] = []
    human: dict[str, str] = {}
    for row in annotations:
        task = tasks.get(row["instance_id"])
        if task is None:
            continue
        ts = row["timestamp"].replace(" ", "T") + "Z"
        # Every Self-Instruct task has one instance; the Tulu prompt is its instruction + input.
        human[row["prompt"]] = task["instances"][0]["output"]
        for side in ("a", "b"):
            model = row[f"model_{side}"]
            request_id = f"tulu-{row['instance_id']}-{model}"
            if request_id not in requests:
                requests[request_id] = {
                    "request_id": request_id, "timestamp": ts, "user_id": row["evaluator"],
                    "model": model, "messages": [{"role": "user", "content": row["prompt"]}],
                    "output": row[f"completion_{side}"],
                }
                feedback.append({"feedback_id": f"{request_id}-human", "request_id": request_id,
                                 "timestamp": ts, "kind": "correction",
                                 "corrected_output": human[row["prompt"]]})
            acceptable = row[f"completion_{side}_is_acceptable"]
            if acceptable in ("yes", "no"):
                feedback.append({"feedback_id": f"tulu-{row['id']}-{side}",
                                 "request_id": request_id, "timestamp": ts, "kind": "thumbs",
                                 "value": int(acceptable == "yes"), "user_id": row["evaluator"]})
    return list(requests.values()), feedback, human


def test_tulu_with_human_outputs_exports_valid_jsonl_of_exactly_the_human_outputs(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    requests, feedback, human = tulu_logs()
    write_jsonl(tmp_path / "landing/requests-tulu.jsonl", requests)
    write_jsonl(tmp_path / "landing/feedback-tulu.jsonl", feedback)
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    loaded = ingest_paths(settings, [tmp_path / "landing"])
    assert loaded.rejected == 0 and loaded.requests_inserted == len(requests)

    summary = export_finetune(settings, tmp_path / "ft")
    written = read_jsonl(tmp_path / "ft/train.jsonl") + read_jsonl(tmp_path / "ft/validation.jsonl")
    for name in ("train.jsonl", "validation.jsonl"):
        assert validate_file(settings, tmp_path / "ft" / name)["errors"] == {}
    # One example per prompt: the two models' requests share the prompt and the human output.
    assert len(written) == len(human) == 252
    assert summary["dropped"]["duplicate"]["exact"] == len(requests) - len(human)
    by_redacted_prompt = {redact(prompt): output for prompt, output in human.items()}
    changed = []
    for example in written:
        expected = by_redacted_prompt[user_of(example)]
        assert assistant_of(example) == redact(expected)
        if assistant_of(example) != expected:
            changed.append(expected)
    # One human output is a table of three (fake) e-mail addresses: those, and only those, go.
    assert len(changed) == 1 and changed[0].count("@") == 3
    # Everything redacted in the 252 examples: those three addresses, the same three in that
    # task's prompt, and one prompt's "Call us at 650-636-4884": no false positives.
    assert manifest(tmp_path / "ft")["redactions"] == {"EMAIL": 6, "PHONE": 1}
    assert manifest(tmp_path / "ft")["warnings"] == {"missing_system_message": 252}

    pairs = export_preferences(settings, tmp_path / "pref")
    records = read_jsonl(tmp_path / "pref/preferences.jsonl")
    assert pairs["examples"] == len(records) > 200
    for record in records:
        prompt = record["input"]["messages"][-1]["content"]
        assert record["preferred_output"][0]["content"] == redact(by_redacted_prompt[prompt])
        rejected, preferred = record["non_preferred_output"], record["preferred_output"]
        assert rejected[0]["content"] != preferred[0]["content"]
    for address in ("cpurdie@email.com", "oliver@email.com", "kolbyreese82@email.com"):
        assert address not in json.dumps(records)
