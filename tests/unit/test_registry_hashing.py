"""The version hash: the documented five lines, YAML variants, single changes."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flywheel.tasks.registry._hashing import canonical_content, canonical_json, prompt_hash
from flywheel.tasks.registry._loader import load_prompt_file, load_prompt_text
from tests.conftest import REPO

pytestmark = pytest.mark.unit

DOC = REPO / "docs" / "hashing.md"
EXAMPLES = sorted((REPO / "prompts").rglob("*.yaml"))
DOC_EXAMPLE = "prompts/summarizer/v1.yaml"


def five_lines() -> str:
    """The Python block that follows the five-lines marker in docs/hashing.md, verbatim."""
    text = DOC.read_text(encoding="utf-8")
    after = text.split("<!-- five-lines", 1)[1]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def documented_hash(path: Path) -> str:
    """Run the documented five lines on ``path`` and return what they print."""
    code = five_lines()
    assert f'"{DOC_EXAMPLE}"' in code
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code.replace(f'"{DOC_EXAMPLE}"', repr(str(path))), {})
    return out.getvalue().strip()


def test_the_documented_block_is_five_lines() -> None:
    assert len(five_lines().strip().splitlines()) == 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_example_prompt_hashes_the_same_by_the_documented_five_lines(path: Path) -> None:
    expected = documented_hash(path)
    assert re.fullmatch(r"[0-9a-f]{64}", expected)
    assert load_prompt_file(path).hash == expected


def test_the_worked_example_in_the_docs_is_exact() -> None:
    text = DOC.read_text(encoding="utf-8")
    spec = yaml.safe_load((REPO / DOC_EXAMPLE).read_text(encoding="utf-8"))
    canonical = canonical_json(canonical_content(spec))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert f"```json\n{canonical}\n```" in text
    assert f"```\n{digest}\n```" in text
    assert f"{len(canonical.encode('utf-8'))} bytes of UTF-8" in text
    for path in EXAMPLES:  # the table of example hashes
        rel = path.relative_to(REPO).as_posix()
        assert f"| `{rel}` | `{load_prompt_file(path).hash}` |" in text


def test_the_experiments_reference_existing_versions_despite_the_declared_labels() -> None:
    shorts = {load_prompt_file(p).hash[:12] for p in EXAMPLES}
    refs = []
    for path in (REPO / "experiments").glob("*.yaml"):
        refs += [r.split(":", 1)[1] for r in yaml.safe_load(path.read_text())["variants"].values()
                 if ":" in r]
    assert refs and all(r in shorts for r in refs)


BASE = """\
name: demo
model: gpt-4o-mini
system: You are terse.
template: "Answer:\\n{{ question }}"
params: {temperature: 0.7, max_tokens: 100, stop: ["\\n\\n"]}
few_shot:
  - {role: user, content: "2+2?"}
  - {role: assistant, content: "4"}
"""

SAME_CONTENT = {
    "key order": """\
few_shot:
  - {content: "2+2?", role: user}
  - {content: "4", role: assistant}
params: {stop: ["\\n\\n"], max_tokens: 100, temperature: 0.7}
template: "Answer:\\n{{ question }}"
system: You are terse.
model: gpt-4o-mini
name: demo
""",
    "quoting": """\
name: 'demo'
model: "gpt-4o-mini"
system: 'You are terse.'
template: "Answer:\\n{{ question }}"
params: {temperature: 0.7, max_tokens: 100, stop: ["\\n\\n"]}
few_shot:
  - {role: 'user', content: '2+2?'}
  - {role: "assistant", content: "4"}
""",
    "0.70 and 7.0e-1": BASE.replace("temperature: 0.7", "temperature: 0.70"),
    "exponent": BASE.replace("temperature: 0.7", "temperature: 7.0e-1"),
    "block style": """\
name: demo
model: gpt-4o-mini
system: >-
  You are terse.
template: |-
  Answer:
  {{ question }}
params:
  temperature: 0.7
  max_tokens: 100
  stop:
    - "\\n\\n"
few_shot:
  - role: user
    content: 2+2?
  - role: assistant
    content: '4'
""",
    "comments, metadata, labels, another name": "# a comment\n" + BASE.replace(
        "name: demo",
        "name: other-name\ndescription: d\nauthor: me\ntags: [x]\nlabels: [production]"
    ),
    "empty system and params entries": BASE.replace("system: You are terse.\n", "system: ''\n")
    .replace("params: {", "params: {seed: null, ") + "",
}


def _hash(text: str) -> str:
    return load_prompt_text(text, "variant.yaml").hash


def test_the_same_content_written_differently_has_the_same_hash() -> None:
    base = _hash(BASE)
    no_system = _hash(BASE.replace("system: You are terse.\n", ""))
    for what, text in SAME_CONTENT.items():
        expected = no_system if "empty system" in what else base
        assert _hash(text) == expected, what


def test_an_integer_for_a_float_parameter_is_the_same_version() -> None:
    assert _hash(BASE.replace("0.7", "1")) == _hash(BASE.replace("0.7", "1.0"))


SINGLE_CHANGES = {
    "model": ("model: gpt-4o-mini", "model: gpt-4o"),
    "system": ("You are terse.", "You are brief."),
    "system whitespace": ("system: You are terse.", "system: 'You are terse. '"),
    "temperature": ("temperature: 0.7", "temperature: 0.71"),
    "max_tokens": ("max_tokens: 100", "max_tokens: 101"),
    "add a parameter": ("max_tokens: 100", "max_tokens: 100, seed: 1"),
    "stop": ('stop: ["\\n\\n"]', 'stop: ["\\n"]'),
    "few-shot content": ('content: "4"', 'content: "four"'),
    "few-shot role": ("{role: user, content: \"2+2?\"}", "{role: assistant, content: \"2+2?\"}"),
    "few-shot dropped": ('  - {role: assistant, content: "4"}\n', ""),
    "template": ("Answer:", "Reply:"),
    "template trailing newline": ('{{ question }}"', '{{ question }}\\n"'),
}


def test_every_single_change_gives_a_new_hash() -> None:
    hashes = {"base": _hash(BASE)}
    for what, (old, new) in SINGLE_CHANGES.items():
        assert old in BASE, what
        digest = _hash(BASE.replace(old, new, 1))
        same = [other for other, h in hashes.items() if h == digest]
        assert not same, f"{what}: same hash as {same}"
        hashes[what] = digest


# Text without Jinja delimiters, so that every generated template parses.
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="{}%#"),
                min_size=1, max_size=40).filter(lambda s: s.strip())
_params = st.fixed_dictionaries({}, optional={
    "temperature": st.one_of(st.integers(0, 2), st.floats(0, 2, allow_nan=False)),
    "top_p": st.floats(0, 1),
    "max_tokens": st.integers(1, 10_000),
    "seed": st.integers(-(2**31), 2**31),
    "stop": st.one_of(_text, st.lists(_text, max_size=4)),
    "presence_penalty": st.floats(-2, 2),
})
_specs = st.fixed_dictionaries(
    {"name": st.just("gen"), "model": _text, "template": _text},
    optional={
        "system": st.one_of(st.just(""), _text),
        "params": _params,
        "few_shot": st.lists(st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant"]), "content": _text}), max_size=3),
        "description": _text,
    },
)


@settings(max_examples=200, deadline=None)
@given(spec=_specs, flow_style=st.booleans())
def test_the_five_lines_agree_with_the_registry_on_generated_prompts(
    spec: dict[str, Any], flow_style: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True, default_flow_style=flow_style),
                        encoding="utf-8")
        # Compare with what the file means: PyYAML's dumper does not round-trip every string
        # (it writes U+0085 raw inside quotes, where YAML reads it as a line break).
        meant = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert documented_hash(path) == load_prompt_file(path).hash == prompt_hash(meant)


def test_canonical_json_is_sorted_compact_and_not_ascii_escaped() -> None:
    spec = {"template": "é\n", "model": "m", "params": {"top_p": 1, "max_tokens": 5.0}}
    assert canonical_json(canonical_content(spec)) == (
        '{"model":"m","params":{"max_tokens":5,"top_p":1.0},"template":"é\\n"}'
    )
    assert json.loads(canonical_json(canonical_content(spec)))["template"] == "é\n"
