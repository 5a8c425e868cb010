"""Prompt-file validation (errors name file, line and key) and rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry._loader import PromptFileError, load_prompt_file, load_prompt_text
from flywheel.tasks.registry._render import render_messages
from tests.conftest import REPO

pytestmark = pytest.mark.unit

GOOD = """\
name: demo
model: gpt-4o-mini
system: You are terse.
template: |
  Question: {{ question }}
  Answer briefly.
params: {temperature: 0.2, max_tokens: 50}
few_shot:
  - {role: user, content: "Question: 2+2?"}
  - {role: assistant, content: "4"}
"""

TEMPLATE = "template: |\n  Question: {{ question }}\n  Answer briefly.\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PromptFileError) as info:
        load_prompt_text(text, "bad.yaml")
    assert isinstance(info.value, UsageError)  # exit 2
    return [str(p) for p in info.value.problems]


def test_a_good_file_loads_with_its_declared_labels() -> None:
    prompt = load_prompt_text(GOOD + "labels: [production, candidate]\n", "good.yaml")
    assert prompt.name == "demo" and prompt.labels == ("production", "candidate")
    assert "labels" not in prompt.spec


@pytest.mark.parametrize("path", sorted((REPO / "prompts").rglob("*.yaml")),
                         ids=lambda p: p.name)
def test_the_example_prompts_are_valid(path: Path) -> None:
    assert load_prompt_file(path).name in ("support", "summarizer")


BAD_CASES = {
    "unknown top-level key": (
        GOOD + "descripton: x\n",
        "bad.yaml:11: descripton: unknown key (did you mean 'description'?)"),
    "parameter at the top level": (
        GOOD + "temperature: 0.2\n", "bad.yaml:11: temperature: unknown key (did you mean "
                                     "'temperature' under params?)"),
    "unknown parameter": (
        GOOD.replace("max_tokens: 50", "max_token: 50"),
        "bad.yaml:7: params.max_token: unknown key (did you mean 'max_tokens'?)"),
    "model is a number": (GOOD.replace("gpt-4o-mini", "3.5"),
                          "bad.yaml:2: model: expected a string, got the number 3.5"),
    "system is a boolean": (GOOD.replace("You are terse.", "yes"),
                            "bad.yaml:3: system: expected a string, got the boolean true"),
    "quoted number": (GOOD.replace("temperature: 0.2", 'temperature: "0.2"'),
                      "bad.yaml:7: params.temperature: expected a number, got the string '0.2' "
                      "(remove the quotes)"),
    "fractional integer": (GOOD.replace("max_tokens: 50", "max_tokens: 50.5"),
                           "bad.yaml:7: params.max_tokens: expected an integer"),
    "boolean for a number": (GOOD.replace("max_tokens: 50", "max_tokens: true"),
                             "bad.yaml:7: params.max_tokens: expected an integer, got the boolean"),
    "out of range": (GOOD.replace("temperature: 0.2", "temperature: 2.5"),
                     "bad.yaml:7: params.temperature: must be between 0 and 2, got 2.5"),
    "not finite": (GOOD.replace("temperature: 0.2", "temperature: .nan"),
                   "bad.yaml:7: params.temperature: expected a finite number"),
    "too many stops": (GOOD.replace("max_tokens: 50", "stop: [a, b, c, d, e]"),
                       "bad.yaml:7: params.stop: at most 4 stop sequences, got 5"),
    "bad response_format": (GOOD.replace("max_tokens: 50", "response_format: {type: xml}"),
                            "bad.yaml:7: params.response_format.type: expected one of text"),
    "params not a mapping": (GOOD.replace("params: {temperature: 0.2, max_tokens: 50}",
                                          "params: [0.2]"),
                             "bad.yaml:7: params: expected a mapping, got a list"),
    "template does not parse (block: exact line)": (
        GOOD.replace("Answer briefly.", "Answer {% if x %}briefly."),
        "bad.yaml:6: template: not a valid Jinja2 template (template line 2)"),
    "template does not parse (quoted)": (
        GOOD.replace(TEMPLATE, 'template: "Question: {{ question }"\n'),
        "bad.yaml:4: template: not a valid Jinja2 template (template line 1)"),
    "template missing": (GOOD.replace(TEMPLATE, ""), "bad.yaml: template: missing required key"),
    "template empty": (GOOD.replace(TEMPLATE, 'template: ""\n'),
                       "bad.yaml:4: template: must not be empty"),
    "few-shot bad role": (GOOD.replace("role: assistant", "role: bot"),
                          "bad.yaml:10: few_shot[1].role: expected user or assistant, got the "
                          "string 'bot'"),
    "few-shot system role": (GOOD.replace("role: assistant", "role: system"),
                             "the system prompt goes in the top-level system key"),
    "few-shot missing content": (GOOD.replace(', content: "4"', ""),
                                 "bad.yaml:10: few_shot[1].content: missing"),
    "few-shot extra key": (GOOD.replace('content: "4"}', 'content: "4", name: x}'),
                           "bad.yaml:10: few_shot[1].name: unknown key"),
    "few-shot not a list": (GOOD.split("few_shot:")[0] + "few_shot: hello\n",
                            "bad.yaml:8: few_shot: expected a list"),
    "bad name": (GOOD.replace("name: demo", "name: my prompt"),
                 "bad.yaml:1: name: bad prompt name"),
    "name with @": (GOOD.replace("name: demo", "name: a@b"), "bad.yaml:1: name: bad prompt name"),
    "duplicate key": (GOOD + "model: gpt-4o\n",
                      "bad.yaml:11: model: duplicate key (first given on line 2)"),
    "tags not a list": (GOOD + "tags: tone\n", "bad.yaml:11: tags: expected a list of strings"),
    "bad label": (GOOD + "labels: [prod uction]\n", "bad.yaml:11: labels[0]: bad label"),
    "label twice": (GOOD + "labels: [a, a]\n", "bad.yaml:11: labels: label(s) given twice: a"),
    "description is a date": (GOOD + "description: 2026-11-01\n",
                              "bad.yaml:11: description: expected a string, got a date"),
    "not YAML": (GOOD + "oops: [\n", "bad.yaml:12: not valid YAML: while parsing a flow node: "
                 "expected the node content, but found '<stream end>'"),
    "unclosed quote": ('name: x\nmodel: m\ntemplate: "Q: {{ q }}\n',
                       "bad.yaml:4: not valid YAML: while scanning a quoted scalar: found "
                       "unexpected end of stream (the construct began on line 3)"),
    "tab indentation": ("name: x\nparams:\n\ttemperature: 1\n", "bad.yaml:3: not valid YAML"),
    "two documents": (GOOD + "---\nname: other\n",
                      "bad.yaml:11: not valid YAML: expected a single"),
    "empty file": ("", "bad.yaml: empty file"),
    "not a mapping": ("- a\n- b\n", "bad.yaml:1: expected a mapping with name, model, template"),
    "python tag": (GOOD + "author: !!python/object:os.system x\n", "bad.yaml:11: not valid YAML"),
}


@pytest.mark.parametrize("text,expected", BAD_CASES.values(), ids=list(BAD_CASES))
def test_a_bad_file_names_file_line_and_key(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = GOOD.replace("gpt-4o-mini", "7").replace("role: assistant", "role: bot") + "foo: 1\n"
    found = problems(text)
    assert len(found) == 3, found
    assert [p.split(":")[1] for p in found] == ["2", "10", "11"]  # in file order


def test_missing_unreadable_and_non_utf8_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(PromptFileError, match=r"missing\.yaml: no such file"):
        load_prompt_file(tmp_path / "missing.yaml", base=tmp_path)
    with pytest.raises(PromptFileError, match="is a folder"):
        load_prompt_file(tmp_path, base=tmp_path.parent)
    (tmp_path / "latin1.yaml").write_bytes(GOOD.encode().replace(b"terse", b"t\xe9rse"))
    with pytest.raises(PromptFileError, match=r"latin1.yaml: not UTF-8 text \(byte"):
        load_prompt_file(tmp_path / "latin1.yaml", base=tmp_path)


def test_yaml_merge_keys_are_allowed() -> None:
    text = ("x-common: &common {model: gpt-4o-mini, template: 'Q: {{ q }}'}\n"
            "name: merged\n<<: *common\n")
    assert problems(text)[0].startswith("bad.yaml:1: x-common: unknown key")
    merged = load_prompt_text("name: merged\n<<: {model: gpt-4o-mini, template: 'Q: {{ q }}'}\n",
                              "m.yaml")
    assert merged.spec["model"] == "gpt-4o-mini"


def spec() -> dict:
    return load_prompt_text(GOOD, "good.yaml").spec


def test_render_places_system_then_few_shot_then_the_user_message() -> None:
    messages = render_messages(spec(), {"question": "3+3?", "unused": 1})
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == "You are terse."
    assert messages[1:3] == [{"role": "user", "content": "Question: 2+2?"},
                             {"role": "assistant", "content": "4"}]
    assert messages[-1]["content"] == "Question: 3+3?\nAnswer briefly.\n"


def test_render_of_a_missing_variable_names_it() -> None:
    with pytest.raises(UsageError, match=r"demo@production: missing template variable 'question'"):
        render_messages(spec(), {"other": 1}, prompt="demo@production")


def test_render_does_not_escape_html_and_keeps_text_verbatim() -> None:
    text = "<b>Tom & Jerry</b> {{ not a template }}"
    out = render_messages({"template": "{{ q }}", "system": text}, {"q": "<i>'\"&"})
    assert out == [{"role": "system", "content": text}, {"role": "user", "content": "<i>'\"&"}]


def test_the_example_support_prompt_renders_with_and_without_the_optional_variable() -> None:
    support = load_prompt_file(REPO / "prompts/support/v1.yaml").spec
    without = render_messages(support, {"question": "Refund?"})[-1]["content"]
    with_order = render_messages(support, {"question": "Refund?", "order_id": "A-1"})[-1]["content"]
    assert "Order" not in without and "Order: A-1" in with_order
