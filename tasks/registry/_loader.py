"""Loading prompt files (docs/contracts.md, "Prompt files and the version hash") with full validation.

Every problem is reported as ``FILE:LINE: KEY: message`` (the line comes from the YAML node
marks; it is left out when there is no line to point at, e.g. a missing key). All problems of a
file are collected, not only the first. A file with any problem is not registered.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType
from typing import Any

import jinja2
import yaml

from flywheel.tasks.errors import UsageError
from flywheel.tasks.registry._hashing import FLOAT_PARAMS, INT_PARAMS, canonical_content, prompt_hash
from flywheel.tasks.registry._render import template_syntax_error

# A prompt name is used in REFs (NAME@LABEL, NAME:HASH) and in report file names.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LABEL_PATTERN = NAME_PATTERN
REQUIRED_KEYS = ("name", "model", "template")
OPTIONAL_KEYS = ("system", "params", "few_shot", "description", "author", "tags", "labels")
ALLOWED_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
PARAM_KEYS = (
    "temperature", "top_p", "max_tokens", "seed", "stop", "presence_penalty",
    "frequency_penalty", "response_format",
)
FEW_SHOT_ROLES = ("user", "assistant")
FEW_SHOT_KEYS = ("role", "content")
RESPONSE_FORMAT_TYPES = ("text", "json_object", "json_schema")
MAX_STOP_SEQUENCES = 4  # OpenAI's limit
# Inclusive ranges OpenAI's chat API accepts.
PARAM_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    "max_tokens": (1, math.inf),
}
PROMPT_FILE_SUFFIXES = (".yaml", ".yml")
_MERGE_TAG = "tag:yaml.org,2002:merge"
# A model parameter written at the top level: point at where it belongs.
_PARAMS_AT_TOP = {key: f"'{key}' under params" for key in PARAM_KEYS}

Path_ = tuple[str | int, ...]  # a key path inside the file: ("few_shot", 1, "role")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a prompt file."""

    file: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready dict."""
        return {"file": self.file, "line": self.line, "key": self.key, "message": self.message}


class PromptFileError(UsageError):
    """A prompt file failed validation (exit 2). ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        # In file order; problems without a line (a missing key) last.
        self.problems = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
        super().__init__("; ".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,))


@dataclass(frozen=True)
class PromptFile:
    """A validated prompt file: its spec (only the allowed keys), hash and declared labels."""

    path: Path
    display: str  # the path as shown to people and stored as source_file
    spec: dict[str, Any]
    labels: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        """The prompt name."""
        return str(self.spec["name"])

    @property
    def hash(self) -> str:
        """The full version hash ("Prompt files and the version hash")."""
        return prompt_hash(self.spec)

    @property
    def content(self) -> dict[str, Any]:
        """The canonical (hashed) content."""
        return canonical_content(self.spec)


def display_path(path: Path, base: Path | None) -> str:
    """``path`` relative to ``base`` when it lies inside it, else absolute (POSIX separators)."""
    resolved = path.resolve()
    if base is not None:
        try:
            return resolved.relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return resolved.as_posix()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"


def _key_text(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Checker:
    """Collects the problems of one file; knows the YAML line of every key path."""

    def __init__(self, display: str, lines: dict[Path_, int]) -> None:
        self.display = display
        self.lines = lines
        self.problems: list[Problem] = []

    def line_of(self, path: Path_) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def add(self, path: Path_, message: str, *, line: int | EllipsisType | None = ...) -> None:
        """Record a problem at ``path``; its line is looked up unless given (None: no line)."""
        where = self.line_of(path) if line is ... else line
        self.problems.append(Problem(self.display, where, _key_text(path) or None, message))

    def string(
        self, value: Any, path: Path_, *, required: bool = False, blank_ok: bool = False
    ) -> bool:
        """Check a string; ``required``: not null and not empty (nor blank, unless blank_ok)."""
        if value is None and not required:
            return True
        if not isinstance(value, str):
            self.add(path, f"expected a string, got {_kind(value)}")
            return False
        if required and not (value if blank_ok else value.strip()):
            self.add(path, "must not be empty")
            return False
        return True

    def string_list(self, value: Any, path: Path_, *, blank_ok: bool = False) -> bool:
        """Check a list of non-empty strings (null is allowed)."""
        if value is None:
            return True
        if not isinstance(value, list):
            self.add(path, f"expected a list of strings, got {_kind(value)}")
            return False
        ok = True
        for i, item in enumerate(value):
            ok = self.string(item, (*path, i), required=True, blank_ok=blank_ok) and ok
        return ok


def _suggest(key: str, allowed: Sequence[str], elsewhere: Mapping[str, str] | None = None) -> str:
    """'unknown key' with the closest allowed key, or where the key belongs if it is misplaced."""
    elsewhere = elsewhere or {}
    close = difflib.get_close_matches(key, [*allowed, *elsewhere], n=1, cutoff=0.6)
    hint = ""
    if close and close[0] in elsewhere:
        hint = f" (did you mean {elsewhere[close[0]]}?)"
    elif close:
        hint = f" (did you mean {close[0]!r}?)"
    return f"unknown key{hint}; allowed: {', '.join(allowed)}"


def _walk_marks(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], dupes: list[tuple[Path_, int, int]]
) -> None:
    """Record the line of every key path; note duplicate keys (YAML would keep the last)."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                dupes.append(((*path, key), seen[key], line))
            seen[key] = line
            lines[(*path, key)] = line
            _walk_marks(value_node, (*path, key), lines, dupes)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk_marks(item, (*path, i), lines, dupes)


def marked_yaml(text: str, display: str, *, expected: str) -> tuple[Any, dict[str, int]]:
    """Parse one YAML document the way prompt files are parsed (for other files of the
    project, e.g. experiment files): duplicate keys refused, each with its line; returns the
    data and the line of every key path written as text (``variants.control``,
    ``guardrails[0].metric``). Raises :class:`PromptFileError` (its ``problems``); an empty
    file says ``expected`` (what the file should hold)."""
    data, lines, _ = _parse(text, display, expected=expected)
    return data, {_key_text(path): line for path, line in lines.items()}


def _parse(text: str, display: str, *, expected: str = "a mapping with name, model, template"
           ) -> tuple[Any, dict[Path_, int], dict[Path_, yaml.Node]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PromptFileError([Problem(display, None, None, f"empty file; expected {expected}")])
        lines: dict[Path_, int] = {}
        dupes: list[tuple[Path_, int, int]] = []
        _walk_marks(node, (), lines, dupes)
        if dupes:
            raise PromptFileError([
                Problem(display, second, _key_text(path),
                        f"duplicate key (first given on line {first})")
                for path, first, second in dupes
            ])
        top_nodes = {}
        if isinstance(node, yaml.MappingNode):
            top_nodes = {(k.value,): v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        return loader.construct_document(node), lines, top_nodes
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = ": ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        if exc.context_mark and line and exc.context_mark.line + 1 != line:
            problem += f" (the construct began on line {exc.context_mark.line + 1})"
        raise PromptFileError(
            [Problem(display, line, None, f"not valid YAML: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise PromptFileError([Problem(display, None, None, f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def _check_number(check: _Checker, key: str, value: Any, path: Path_) -> None:
    integer = key in INT_PARAMS
    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = " (remove the quotes)" if isinstance(value, str) else ""
        wanted = "an integer" if integer else "a number"
        check.add(path, f"expected {wanted}, got {_kind(value)}{hint}")
        return
    if integer and not isinstance(value, int):
        check.add(path, f"expected an integer, got {_kind(value)}")
        return
    if isinstance(value, float) and not math.isfinite(value):
        check.add(path, f"expected a finite number, got {value}")
        return
    low, high = PARAM_RANGES.get(key, (-math.inf, math.inf))
    if not low <= value <= high:
        bounds = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
        check.add(path, f"must be {bounds}, got {value}")


def _check_params(check: _Checker, params: Any) -> None:
    if params is None:
        return
    if not isinstance(params, dict):
        check.add(("params",), f"expected a mapping, got {_kind(params)}")
        return
    for key, value in params.items():
        path: Path_ = ("params", str(key))
        if key not in PARAM_KEYS:
            check.add(path, _suggest(str(key), PARAM_KEYS))
        elif value is None:
            continue
        elif key in FLOAT_PARAMS or key in INT_PARAMS:
            _check_number(check, key, value, path)
        elif key == "stop":
            if isinstance(value, str):
                check.string(value, path, required=True, blank_ok=True)
                continue
            if (check.string_list(value, path, blank_ok=True) and isinstance(value, list)
                    and len(value) > MAX_STOP_SEQUENCES):
                check.add(path, f"at most {MAX_STOP_SEQUENCES} stop sequences, got {len(value)}")
        elif key == "response_format":
            if not isinstance(value, dict):
                check.add(path,
                          f"expected a mapping like {{type: json_object}}, got {_kind(value)}")
            elif value.get("type") not in RESPONSE_FORMAT_TYPES:
                check.add((*path, "type"),
                          f"expected one of {', '.join(RESPONSE_FORMAT_TYPES)}, "
                          f"got {_kind(value.get('type'))}")
            elif value["type"] == "json_schema" and not isinstance(value.get("json_schema"), dict):
                check.add((*path, "json_schema"), "type json_schema needs a json_schema mapping")


def _check_few_shot(check: _Checker, few_shot: Any) -> None:
    if few_shot is None:
        return
    if not isinstance(few_shot, list):
        check.add(("few_shot",),
                  f"expected a list of {{role, content}} messages, got {_kind(few_shot)}")
        return
    for i, message in enumerate(few_shot):
        path: Path_ = ("few_shot", i)
        if not isinstance(message, dict):
            check.add(path, f"expected a mapping {{role, content}}, got {_kind(message)}")
            continue
        for key in message:
            if key not in FEW_SHOT_KEYS:
                check.add((*path, str(key)), _suggest(str(key), FEW_SHOT_KEYS))
        role = message.get("role")
        if "role" not in message:
            check.add((*path, "role"), "missing; expected user or assistant")
        elif role not in FEW_SHOT_ROLES:
            hint = (" (the system prompt goes in the top-level system key)"
                    if role == "system" else "")
            check.add((*path, "role"), f"expected user or assistant, got {_kind(role)}{hint}")
        if "content" not in message:
            check.add((*path, "content"), "missing")
        else:
            check.string(message["content"], (*path, "content"), required=True)


def _template_line(node: yaml.Node | None, template_line: int, fallback: int | None) -> int | None:
    """The file line of a template line: exact for block scalars (| and >), else the key's."""
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return node.start_mark.line + 1 + template_line
    return node.start_mark.line + 1 if node is not None else fallback


def _check_template(check: _Checker, template: Any, node: yaml.Node | None) -> None:
    if not check.string(template, ("template",), required=True):
        return
    error = template_syntax_error(template)
    if error is not None:
        line = _template_line(node, error.lineno or 1, check.line_of(("template",)))
        check.add(("template",),
                  f"not a valid Jinja2 template (template line {error.lineno}): "
                  f"{(error.message or 'syntax error').rstrip('.')}",
                  line=line)


def _check_labels(check: _Checker, labels: Any) -> tuple[str, ...]:
    if labels is None:
        return ()
    if not check.string_list(labels, ("labels",)):
        return ()
    for i, label in enumerate(labels):
        if not LABEL_PATTERN.match(label):
            check.add(("labels", i), f"bad label {label!r}: use letters, digits, '.', '_', '-'")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        check.add(("labels",), f"label(s) given twice: {', '.join(duplicates)}")
    return tuple(dict.fromkeys(labels))


def validate_spec(
    data: Any, display: str, lines: Mapping[Path_, int] | None = None,
    nodes: Mapping[Path_, yaml.Node] | None = None,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Check a parsed prompt file; returns (spec, declared labels) or raises PromptFileError."""
    check = _Checker(display, dict(lines or {}))
    if not isinstance(data, dict):
        check.add((), f"expected a mapping with name, model, template; got {_kind(data)}")
        raise PromptFileError(check.problems)
    for key in data:
        if key not in ALLOWED_KEYS:
            check.add((str(key),), _suggest(str(key), ALLOWED_KEYS, _PARAMS_AT_TOP))
    for key in REQUIRED_KEYS:
        if key not in data:
            check.add((key,), "missing required key", line=None)
    if "name" in data and check.string(data["name"], ("name",), required=True) \
            and not NAME_PATTERN.match(data["name"]):
        check.add(("name",), f"bad prompt name {data['name']!r}: use letters, digits, '.', '_', "
                  "'-' (names appear in NAME@LABEL references and file names)")
    if "model" in data:
        check.string(data["model"], ("model",), required=True)
    check.string(data.get("system"), ("system",))
    check.string(data.get("description"), ("description",))
    check.string(data.get("author"), ("author",))
    check.string_list(data.get("tags"), ("tags",))
    if "template" in data:
        _check_template(check, data["template"], (nodes or {}).get(("template",)))
    _check_params(check, data.get("params"))
    _check_few_shot(check, data.get("few_shot"))
    labels = _check_labels(check, data.get("labels"))
    if check.problems:
        raise PromptFileError(check.problems)
    spec = {k: v for k, v in data.items() if k != "labels"}
    return spec, labels


def load_prompt_text(text: str, display: str, path: Path | None = None) -> PromptFile:
    """Validate prompt-file text; raises :class:`PromptFileError` naming file, line and key."""
    data, lines, nodes = _parse(text, display)
    spec, labels = validate_spec(data, display, lines, nodes)
    return PromptFile(path=path or Path(display), display=display, spec=spec, labels=labels)


def load_prompt_file(path: str | Path, *, base: Path | None = None) -> PromptFile:
    """Read and validate one prompt file (see :func:`load_prompt_text`)."""
    path = Path(path)
    display = display_path(path, base)
    if not path.is_file():
        what = "is a folder, not a prompt file" if path.is_dir() else "no such file"
        raise PromptFileError([Problem(display, None, None, what)])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PromptFileError(
            [Problem(display, None, None, f"not UTF-8 text (byte {exc.start}: {exc.reason})")]
        ) from None
    except OSError as exc:
        raise PromptFileError(
            [Problem(display, None, None, f"cannot read: {exc.strerror}")]
        ) from None
    return load_prompt_text(text, display, path)


def prompt_files(folder: Path) -> Iterator[Path]:
    """The prompt files under ``folder`` (``*.yaml``, ``*.yml``; hidden folders skipped), sorted."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix in PROMPT_FILE_SUFFIXES and path.is_file():
            yield path


def template_variables(template: str) -> list[str]:
    """The variables a template reads (sorted), for display: ``show`` lists them."""
    from jinja2 import meta

    from flywheel.tasks.registry._render import environment

    try:
        return sorted(meta.find_undeclared_variables(environment().parse(template)))
    except jinja2.TemplateSyntaxError:
        return []
