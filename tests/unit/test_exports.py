"""The three exports over a real DuckDB store: selection, rebuild, redaction, dedup, leakage,
split, atomic and byte-identical output."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flywheel.tasks.config import ExportSettings, Settings, load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.export import (
    Window,
    assemble_parts,
    export_finetune,
    export_hard_examples,
    export_preferences,
    validate_file,
)
from flywheel.tasks.export._select import rebuild_messages
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.registry._hashing import prompt_hash
from flywheel.tasks.registry._store import register_version
from flywheel.tasks.sample_data._content import SUPPORT_QA
from tests.conftest import feedback_record, request_record
from tests.support.export_support import (
    assistant_of,
    manifest,
    read_jsonl,
    sample_project,
    sha256s,
    user_of,
)

pytestmark = pytest.mark.unit

SPEC = {"name": "helpdesk", "model": "gpt-4o-mini", "system": "You help with billing.",
        "template": "Customer question: {{ question }}\nAnswer briefly."}
HASH = prompt_hash(SPEC)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Three days of sample traffic, ingested, prompts registered (shared: read-only use)."""
    return sample_project(tmp_path_factory.mktemp("sample"), users=600)


def examples(folder: Path) -> list[dict[str, Any]]:
    return read_jsonl(folder / "train.jsonl") + read_jsonl(folder / "validation.jsonl")


def small_store(tmp_path: Path, write_jsonl: Callable[..., Path], requests: list[dict[str, Any]],
                feedback: list[dict[str, Any]], **overrides: Any) -> Settings:
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path, **overrides)
    write_jsonl(tmp_path / "landing/requests-1.jsonl", requests)
    write_jsonl(tmp_path / "landing/feedback-1.jsonl", feedback)
    ingest_paths(settings, [tmp_path / "landing"])
    with connect(settings.db_path) as con:
        register_version(con, SPEC)
    return settings


def correction(i: int | str, request: int | str, text: str, ts: str = "2026-11-02T11:00:00Z",
               ) -> dict[str, Any]:
    return feedback_record(i, request_id=f"req-{request}", kind="correction", value=...,
                           corrected_output=text, timestamp=ts)


# --- the sample data ----------------------------------------------------------------------------

def test_the_sample_export_validates_cleanly(sample: Settings, tmp_path: Path) -> None:
    summary = export_finetune(sample, tmp_path / "ft")
    assert summary["examples"] > 10
    assert summary["examples"] + summary["dropped_total"] == summary["candidates"]
    for name in ("train.jsonl", "validation.jsonl"):
        report = validate_file(sample, tmp_path / "ft" / name)
        assert report["ok"] and report["errors"] == {}, report
    written = manifest(tmp_path / "ft")
    assert set(written["files"]) == {"train.jsonl", "validation.jsonl"}
    for name, described in written["files"].items():
        assert described["sha256"] == sha256s(tmp_path / "ft")[name]
        assert described["lines"] == len(read_jsonl(tmp_path / "ft" / name))
    versions = written["prompt_versions"]
    assert versions and all(len(v["hash"]) == 64 for v in versions)
    assert written["date_range"]["first"] <= written["date_range"]["last"]
    assert set(written["dropped"]) >= {"invalid", "duplicate", "in_evalset", "too_long",
                                       "not_rebuildable"}
    # Half the sample requests log no messages: those examples were rendered from the registry,
    # and a rendered example equals a logged one (the duplicates prove it).
    assert written["dropped"]["duplicate"]["exact"] > 0
    assert written["dropped"]["not_rebuildable"] == {}


def test_planted_pii_in_the_sample_is_redacted(sample: Settings, tmp_path: Path) -> None:
    export_finetune(sample, tmp_path / "ft")
    export_hard_examples(sample, tmp_path / "hard")
    text = "".join(p.read_text("utf-8") for p in tmp_path.rglob("*.jsonl"))
    for planted in ("jane.doe@example.com", "415 555 0132", "li.wei+billing@example.org",
                    "7946 0958", "612 345 678"):
        assert planted not in text
    assert "<EMAIL>" in text or "<PHONE>" in text


def test_a_second_export_with_no_new_data_is_byte_identical(
    sample: Settings, tmp_path: Path
) -> None:
    for export in (export_finetune, export_preferences, export_hard_examples):
        out = tmp_path / export.__name__
        first = export(sample, out)
        before = sha256s(out)
        second = export(sample, out)
        assert sha256s(out) == before and first["files"] == second["files"]
        assert not first["unchanged"] and second["unchanged"]
        assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_an_eval_set_case_never_reaches_a_training_file(sample: Settings, tmp_path: Path) -> None:
    export_finetune(sample, tmp_path / "before")
    before = [user_of(e) for e in examples(tmp_path / "before")]
    questions = [q for q, _, _ in SUPPORT_QA if any(q in u for u in before)]
    assert len(questions) >= 4  # the guard below has something to catch
    evalsets = sample.project_dir / "evalsets"
    evalsets.mkdir(exist_ok=True)
    name = "leak-guard-test.jsonl"  # other eval sets may sit beside it
    cases = [
        {"id": "exact", "vars": {"question": questions[0]}},
        {"id": "near", "vars": {"question": questions[3].upper().replace("?", " ?") + "!"}},
        {"id": "unrelated", "vars": {"question": "What is the capital of Australia?"}},
    ]
    (evalsets / name).write_text("\n".join(json.dumps(c) for c in cases) + "\n")
    try:
        export_finetune(sample, tmp_path / "ft")
        preferences = export_preferences(sample, tmp_path / "pref")
        hard = export_hard_examples(sample, tmp_path / "hard")
    finally:
        (evalsets / name).unlink()
    users = [user_of(e) for e in examples(tmp_path / "ft")]
    assert users
    for question in (questions[0], questions[3]):
        assert not [u for u in users if question in u]
    pairs = read_jsonl(tmp_path / "pref/preferences.jsonl")
    assert not [p for p in pairs if questions[0] in json.dumps(p, ensure_ascii=False)]
    items = read_jsonl(tmp_path / "hard/hard_examples.jsonl")
    assert not [i for i in items if i["vars"].get("question") in (questions[0], questions[3])]
    written = manifest(tmp_path / "ft")
    leaked = written["dropped"]["in_evalset"]
    assert leaked["exact"] + leaked["near"] > 0
    ours = [c for c in written["evalset_cases_matched"] if c.startswith(name)]
    assert ours == [f"{name}#exact", f"{name}#near"]
    assert [e["cases"] for e in written["filters"]["evalsets"] if e["file"] == name] == [3]
    assert sum(preferences["dropped"]["in_evalset"].values()) > 0
    assert sum(hard["dropped"]["already_in_evalset"].values()) > 0


def test_the_split_is_stable_as_data_grows(tmp_path: Path) -> None:
    small = sample_project(tmp_path / "small", days=2, users=400)
    export_finetune(replace(small, export=ExportSettings(validation_share=0.3)), tmp_path / "a")
    # The same project with more days: the first days' files are identical, more follow.
    large = sample_project(tmp_path / "large", days=5, users=400)
    export_finetune(replace(large, export=ExportSettings(validation_share=0.3)), tmp_path / "b")

    def lines(folder: Path, name: str) -> set[str]:
        return set((folder / name).read_text("utf-8").splitlines())

    before_train = lines(tmp_path / "a", "train.jsonl")
    before_val = lines(tmp_path / "a", "validation.jsonl")
    after_train = lines(tmp_path / "b", "train.jsonl")
    after_val = lines(tmp_path / "b", "validation.jsonl")
    assert before_val and before_train
    assert len(after_train | after_val) > len(before_train | before_val)
    assert not before_train & after_val and not before_val & after_train
    share = len(after_val) / len(after_train | after_val)
    assert 0.1 < share < 0.5


def test_since_limits_the_window(sample: Settings, tmp_path: Path) -> None:
    everything = manifest(Path(export_finetune(sample, tmp_path / "all")["out_dir"]))
    later = export_finetune(sample, tmp_path / "late", Window.parse("2026-11-03"))
    windowed = manifest(tmp_path / "late")
    assert 0 < later["candidates"] < everything["candidates"]
    assert windowed["date_range"]["first"] >= "2026-11-03"
    assert windowed["filters"]["since"] == "2026-11-03T00:00:00+00:00"


# --- selection and rebuild ----------------------------------------------------------------------

def test_latest_correction_wins_and_messages_are_rebuilt_from_a_hash_prefix(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    requests = [
        request_record(1, prompt_name="helpdesk", prompt_hash=HASH[:12],
                       input={"question": "Where is my invoice?"}),
        request_record(2, prompt_name="helpdesk", prompt_hash="abcdef123456",
                       input={"question": "Unknown version?"}),
        request_record(3, prompt_name="helpdesk", prompt_hash=HASH, input={"other": "x"}),
        request_record(4, messages=[{"role": "developer", "content": "Be brief."},
                                    {"role": "user", "content": "Logged question"}]),
    ]
    feedback = [
        correction("1a", 1, "Older answer.", "2026-11-02T11:00:00Z"),
        correction("1b", 1, "Billing → Invoices, top right.", "2026-11-02T12:00:00Z"),
        correction(2, 2, "x"), correction(3, 3, "y"), correction(4, 4, "Logged answer."),
    ]
    settings = small_store(tmp_path, write_jsonl, requests, feedback)
    summary = export_finetune(settings, tmp_path / "out")
    got = {user_of(e): e["messages"] for e in examples(tmp_path / "out")}
    assert got["Customer question: Where is my invoice?\nAnswer briefly."] == [
        {"role": "system", "content": "You help with billing."},
        {"role": "user", "content": "Customer question: Where is my invoice?\nAnswer briefly."},
        {"role": "assistant", "content": "Billing → Invoices, top right."},
    ]
    assert got["Logged question"][0] == {"role": "system", "content": "Be brief."}
    assert summary["dropped"]["not_rebuildable"] == {"missing_template_variable": 1,
                                                     "unknown_prompt_version": 1}
    assert {"name": "helpdesk", "hash": HASH, "examples": 1} in manifest(
        tmp_path / "out")["prompt_versions"]


def test_rebuild_reports_an_ambiguous_prefix() -> None:
    row = {"messages": None, "prompt_hash": "abcdef123456", "n_versions": 2, "input": "{}",
           "version_content": None}
    assert rebuild_messages(row) == (None, "ambiguous_prompt_version")


def test_rated_uncorrected_outputs_only_when_configured(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    requests = [request_record(i, messages=[{"role": "user", "content": f"question {i}"}],
                               output=f"answer {i}") for i in range(1, 5)]
    feedback = [
        feedback_record("r1", request_id="req-1", kind="rating", value=5),
        feedback_record("t2", request_id="req-2", kind="thumbs", value=1),
        feedback_record("t3", request_id="req-3", kind="thumbs", value=1),
        feedback_record("r3", request_id="req-3", kind="rating", value=1),  # mixed: not trusted
        feedback_record("r4", request_id="req-4", kind="rating", value=3),
    ]
    settings = small_store(tmp_path, write_jsonl, requests, feedback)
    assert export_finetune(settings, tmp_path / "off")["examples"] == 0
    rated = replace(settings, export=ExportSettings(include_rated=True, validation_share=0.0))
    export_finetune(rated, tmp_path / "on")
    assert sorted(assistant_of(e) for e in examples(tmp_path / "on")) == ["answer 1", "answer 2"]
    assert manifest(tmp_path / "on")["sources"] == {"rated": 2}


def test_duplicates_exact_and_normalized_are_dropped_oldest_kept(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    def ask(i: int, text: str) -> dict[str, Any]:
        return request_record(i, messages=[{"role": "user", "content": text}])

    requests = [ask(1, "How do I pay?"), ask(2, "How do I pay?"), ask(3, "how  do I PAY?"),
                ask(4, "Something else")]
    feedback = [correction(i, i, "Use the card form." if i < 4 else "Other.",
                           f"2026-11-02T1{i}:00:00Z") for i in range(1, 5)]
    settings = small_store(tmp_path, write_jsonl, requests, feedback)
    summary = export_finetune(settings, tmp_path / "out")
    assert summary["examples"] == 2
    assert summary["dropped"]["duplicate"] == {"exact": 1, "normalized": 1}
    assert {user_of(e) for e in examples(tmp_path / "out")} == {"How do I pay?", "Something else"}


def test_invalid_and_too_long_examples_are_counted_not_written(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    requests = [
        request_record(1, messages=[{"role": "user", "content": "short"}]),
        request_record(2, messages=[{"role": "user", "content": "long " * 500}]),
        request_record(3, messages=[{"role": "tool", "content": "tool output"},
                                    {"role": "user", "content": "q"}]),
    ]
    feedback = [correction(i, i, "fine") for i in (1, 2, 3)]
    settings = small_store(tmp_path, write_jsonl, requests, feedback,
                           export=ExportSettings(model="tiny-model", token_limits={"tiny": 100}))
    summary = export_finetune(settings, tmp_path / "out")
    assert summary["examples"] == 1
    assert summary["dropped"]["too_long"] == 1 and summary["dropped"]["invalid"] == {
        "unrecognized_role": 1}
    assert manifest(tmp_path / "out")["filters"]["token_limit"] == 100


# --- secrets --------------------------------------------------------------------------------------

SECRETS = {
    "openai": "sk-proj-Zx8Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk",
    "aws": "AKIAZ7XQ3MPL4RT8WN2V",
    "github": "ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
    "pem": "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "email": "maria.gomez@contoso.example",
    "card": "4539 1488 0343 6467",
    "iban": "DE89370400440532013000",
    "ssn": "078-05-1120",
    "ip": "203.0.113.77",
    "phone": "+49 30 901820",
}


def test_no_planted_secret_survives_in_any_exported_file(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    leak = (f"My key is {SECRETS['openai']} and {SECRETS['aws']}; token {SECRETS['github']}. "
            f"Header: Authorization: Bearer {SECRETS['bearer']}\n-----BEGIN PRIVATE KEY-----\n"
            f"{SECRETS['pem']}\n-----END PRIVATE KEY-----\nMail {SECRETS['email']}, card "
            f"{SECRETS['card']}, IBAN {SECRETS['iban']}, SSN {SECRETS['ssn']}, from "
            f"{SECRETS['ip']}, phone {SECRETS['phone']}.")
    requests = [
        request_record(1, prompt_name="helpdesk", prompt_hash=HASH, input={"question": leak},
                       output=f"Echo: {leak}"),
        request_record(2, messages=[{"role": "system", "content": f"Key {SECRETS['openai']}"},
                                    {"role": "user", "content": leak}], output="ok"),
    ]
    feedback = [correction(1, 1, f"Never share {SECRETS['aws']} or {SECRETS['card']}."),
                correction(2, 2, f"Write to {SECRETS['email']}."),
                feedback_record("d1", request_id="req-1", kind="thumbs", value=0)]
    settings = small_store(tmp_path, write_jsonl, requests, feedback)
    assert export_finetune(settings, tmp_path / "ft")["examples"] == 2
    assert export_preferences(settings, tmp_path / "pref")["examples"] == 2
    assert export_hard_examples(settings, tmp_path / "hard")["examples"] == 2
    written = {p: p.read_text("utf-8") for folder in ("ft", "pref", "hard")
               for p in (tmp_path / folder).iterdir()}
    assert len(written) == 8
    for path, text in written.items():
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} survived in {path}"
    everything = "".join(written.values())
    for placeholder in ("<SECRET>", "<EMAIL>", "<CREDIT_CARD>", "<IBAN>", "<US_SSN>",
                        "<IP_ADDRESS>", "<PHONE>"):
        assert placeholder in everything
    assert manifest(tmp_path / "ft")["redactions"]["SECRET"] >= 5


# --- preferences and hard examples -------------------------------------------------------------

def test_preference_pairs_skip_equal_outputs_and_keep_the_format(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    requests = [request_record(i, messages=[{"role": "user", "content": f"q{i}"}],
                               output=o) for i, o in ((1, "Old answer."), (2, "Same  answer"),
                                                      (3, None))]
    requests[2]["error"] = "timeout"
    feedback = [correction(1, 1, "New answer."), correction(2, 2, "same answer"),
                correction(3, 3, "Fixed.")]
    settings = small_store(tmp_path, write_jsonl, requests, feedback)
    summary = export_preferences(settings, tmp_path / "pref")
    assert summary["dropped"]["equal_after_normalization"] == 1
    assert summary["dropped"]["no_original_output"] == 1
    assert read_jsonl(tmp_path / "pref/preferences.jsonl") == [{
        "input": {"messages": [{"role": "user", "content": "q1"}]},
        "preferred_output": [{"role": "assistant", "content": "New answer."}],
        "non_preferred_output": [{"role": "assistant", "content": "Old answer."}],
    }]


def test_hard_examples_are_eval_cases_deduplicated_stratified_and_capped(
    sample: Settings, tmp_path: Path
) -> None:
    capped = replace(sample, export=ExportSettings(hard_examples_per_prompt=5))
    summary = export_hard_examples(capped, tmp_path / "hard")
    items = read_jsonl(tmp_path / "hard/hard_examples.jsonl")
    provenance = read_jsonl(tmp_path / "hard/provenance.jsonl")
    written = manifest(tmp_path / "hard")
    assert [i["id"] for i in items] == [p["id"] for p in provenance]
    assert len({i["id"] for i in items}) == len(items)
    for item in items:
        assert set(item) <= {"id", "vars", "reference", "assert", "tags"}
        assert isinstance(item["vars"], dict) and item["vars"]
        assert item["tags"][0] == "hard-example"
        assert ("reference" in item) == ("corrected" in item["tags"])
    prompts = {p["prompt_name"] for p in provenance}
    assert prompts == {"support", "summarizer"}
    for prompt in prompts:
        assert sum(p["prompt_name"] == prompt for p in provenance) == 5
        assert written["per_prompt"][prompt]["written"] == 5
    assert summary["dropped"]["over_cap_per_prompt"] > 0 and summary["dropped"]["duplicate"] > 0
    strongest = [p["signals"][0] for p in provenance if p["prompt_name"] == "summarizer"]
    assert strongest[0] == "corrected"  # strongest signal first


def test_nothing_of_the_projects_own_eval_sets_reaches_a_training_file(tmp_path: Path) -> None:
    settings = sample_project(tmp_path / "proj", keep_evalsets=True)
    folder = settings.project_dir / "evalsets"
    cases = [json.loads(line) for path in sorted(folder.glob("*.jsonl"))
             for line in path.read_text("utf-8").splitlines() if line.strip()]
    if not cases:
        pytest.skip("this checkout has no example eval sets in evalsets/")
    export_finetune(settings, tmp_path / "ft")
    export_preferences(settings, tmp_path / "pref")
    users = [user_of(e).casefold() for e in examples(tmp_path / "ft")] + [
        p["input"]["messages"][-1]["content"].casefold()
        for p in read_jsonl(tmp_path / "pref/preferences.jsonl")]
    # Independent of the guard's own matching: no case's variable text occurs in a user message.
    for case in cases:
        for value in case.get("vars", {}).values():
            if isinstance(value, str) and len(value) >= 12:
                assert not [u for u in users if value.casefold() in u], (case["id"], value)


# --- nightly parts ------------------------------------------------------------------------------

def test_nightly_parts_dedup_across_nights_keep_eval_cases_out_and_rerun_identically(
    tmp_path: Path, write_jsonl: Callable[..., Path]
) -> None:
    def ask(i: int, text: str, day: int) -> dict[str, Any]:
        return request_record(i, messages=[{"role": "user", "content": text}],
                              timestamp=f"2026-11-0{day}T09:00:00Z")

    requests = [ask(1, "How do I pay?", 2), ask(2, "Where is my parcel?", 2),
                ask(3, "How do I pay?", 3), ask(4, "how do i  PAY?", 3),
                ask(5, "What is the leaked question?", 3), ask(6, "Can I change plans?", 3)]
    feedback = [correction(1, 1, "Use the card form.", "2026-11-02T10:00:00Z"),
                correction(2, 2, "It ships today.", "2026-11-02T11:00:00Z"),
                correction(3, 3, "Use the card form.", "2026-11-03T10:00:00Z"),
                correction(4, 4, "use the card form.", "2026-11-03T10:30:00Z"),
                correction(5, 5, "Leaked answer.", "2026-11-03T11:00:00Z"),
                correction(6, 6, "Yes, any time.", "2026-11-03T12:00:00Z")]
    settings = small_store(tmp_path, write_jsonl, requests, feedback)
    (tmp_path / "evalsets").mkdir(exist_ok=True)
    (tmp_path / "evalsets/guard.jsonl").write_text(
        json.dumps({"id": "leak", "vars": {"question": "What is the leaked question?"}}) + "\n")

    def part(day: str) -> Path:
        return tmp_path / "exports" / day / "finetune"

    def night(day: str) -> dict[str, Any]:
        return export_finetune(settings, part(day), Window.parse(day, day),
                               night=date.fromisoformat(day))

    def keys() -> list[tuple[Any, ...]]:
        with connect(settings.db_path) as con:
            return con.execute("SELECT * FROM export_keys ORDER BY ALL").fetchall()

    first = night("2026-11-02")
    assert first["examples"] == 2
    second = night("2026-11-03")
    # req-3 repeats night 1's example exactly, req-4 up to case and spaces: both dropped as
    # exported by an earlier night; req-5 is an eval case; req-6 is new.
    assert second["examples"] == 1
    assert second["dropped"]["duplicate"] == {"earlier_night": 2, "exact": 0, "normalized": 0}
    assert second["dropped"]["in_evalset"]["exact"] == 1
    assert [user_of(e) for e in examples(part("2026-11-03"))] == ["Can I change plans?"]
    state, files = keys(), sha256s(part("2026-11-02"))
    # Running night 1 again (after night 2) writes the same files and the same state.
    again = night("2026-11-02")
    assert again["unchanged"] and sha256s(part("2026-11-02")) == files
    assert keys() == state and {k[1] for k in state} == {date(2026, 11, 2), date(2026, 11, 3)}
    assert len(state) == 2 * 3  # an exact and a normalized key per example written

    # The cumulative file from the parts: every night's examples once; a case added to an eval
    # set since night 1 was exported is dropped from it.
    assembled = assemble_parts(settings, "finetune", tmp_path / "all")
    assert assembled["parts"] == ["2026-11-02", "2026-11-03"] and assembled["examples"] == 3
    assert sorted(user_of(e) for e in examples(tmp_path / "all")) == [
        "Can I change plans?", "How do I pay?", "Where is my parcel?"]
    with (tmp_path / "evalsets/guard.jsonl").open("a") as handle:
        handle.write(json.dumps({"id": "late", "vars": {"question": "Where is my parcel?"}}) + "\n")
    later = assemble_parts(settings, "finetune", tmp_path / "all-later")
    assert later["examples"] == 2 and later["dropped"] == {"in_evalset": 1}
    assert "Where is my parcel?" not in [user_of(e) for e in examples(tmp_path / "all-later")]
