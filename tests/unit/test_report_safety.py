"""Hostile text through every field a report shows: prompt text, names, descriptions, logged
inputs, outputs, corrections, comments, arm names, eval case ids, tags and outputs, label
reasons, monitoring messages. The reports must show each of them (the test finds every
field's marker) and none of them may become markup: no script, no event handler, no
javascript: URL, no element the payloads carry, in the HTML, the SVG or the rendered Markdown.
A planted API key must not reach any file, the stored decisions or the artifact text."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from flywheel.tasks.db import connect
from flywheel.tasks.reports import artifact_markdown
from tests.support.hostile_project import FIELDS, SECRET, build_hostile_project

pytestmark = pytest.mark.unit

@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return build_hostile_project(tmp_path_factory.mktemp("hostile"))


class Audit(HTMLParser):
    """Every element, every attribute that could run or fetch something, and the text."""

    def __init__(self, local_images: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.local_images = local_images
        self.tags: Counter[str] = Counter()
        self.bad: list[str] = []
        self.text: list[str] = []
        self.in_svg = 0
        self.svg_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag == "svg":
            self.in_svg += 1
        for name, value in attrs:
            lowered = (value or "").strip().lower()
            if name.startswith("on"):
                self.bad.append(f"<{tag} {name}=…>")
            if "javascript:" in lowered:
                self.bad.append(f"<{tag} {name}={value!r}>")
            if name == "src" and not (self.local_images and tag == "img" and re.fullmatch(
                    r"[A-Za-z0-9._-]+\.svg", value or "")):
                self.bad.append(f"<{tag} src={value!r}>")
            if name in ("href", "xlink:href", "action", "formaction") and re.match(
                    r"^([a-z][a-z0-9+.-]*:|//)", lowered) and lowered != "data:,":
                self.bad.append(f"<{tag} {name}={value!r}> (not a local link)")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "svg":
            self.in_svg -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.in_svg -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.in_svg:
            self.svg_text.append(data)


FORBIDDEN = ("script", "iframe", "textarea", "object", "embed", "foreignobject", "form",
             "input", "base", "meta-refresh")


def audit(html: str, *, local_images: bool = False) -> Audit:
    """Parse ``html``; fail on anything active or fetched (images only as the report's own
    SVG files, and only where allowed)."""
    found = Audit(local_images)
    found.feed(html)
    found.close()
    assert not found.bad, found.bad
    assert not [t for t in FORBIDDEN if found.tags[t]], found.tags
    if not local_images:
        assert not found.tags["img"], found.tags
    return found


def test_every_field_reaches_the_html_and_none_becomes_markup(hostile: dict[str, Any]) -> None:
    seen: set[str] = set()
    svg_text = []
    for report in hostile["result"]["prompts"]:
        html = Path(report["html"]).read_text(encoding="utf-8")
        found = audit(html)
        text = "".join(found.text)
        seen |= {f for f in FIELDS if f"XSS-{f}" in text}
        svg_text += found.svg_text
        assert found.tags["title"] == 1
        if report["prompt"] == "support":  # the hostile-named prompt has no charts
            assert found.tags["svg"] >= 5
        assert "&lt;script&gt;alert(" in html  # shown, escaped
    assert seen == set(FIELDS), set(FIELDS) - seen
    assert any("XSS-eval_tag" in t for t in svg_text)  # chart text is escaped, not dropped
    assert any("XSS-variant" in t for t in svg_text)
    audit((hostile["folder"] / "index.html").read_text(encoding="utf-8"))


def test_every_field_reaches_the_markdown_and_none_becomes_markup(
        hostile: dict[str, Any]) -> None:
    renderer = MarkdownIt("commonmark", {"html": True}).enable("table")
    seen: set[str] = set()
    for report in hostile["result"]["prompts"]:
        rendered = renderer.render(Path(report["md"]).read_text(encoding="utf-8"))
        found = audit(rendered, local_images=True)
        assert not found.tags["svg"] and not found.tags["style"]
        seen |= {f for f in FIELDS if f"XSS-{f}" in "".join(found.text)}
        # the only links and images are the report's own files
        for href in re.findall(r'(?:href|src)="([^"]*)"', rendered):
            assert re.fullmatch(r"[A-Za-z0-9._-]+\.(html|svg)", href), href
    assert seen == set(FIELDS), set(FIELDS) - seen


def test_svg_files_beside_the_markdown_are_inert(hostile: dict[str, Any]) -> None:
    files = sorted(hostile["folder"].glob("*.svg"))
    assert files
    for path in files:
        audit(path.read_text(encoding="utf-8"))


def test_the_planted_secret_reaches_no_report_no_decision_row_and_no_artifact(
        hostile: dict[str, Any]) -> None:
    for path in hostile["folder"].iterdir():
        assert SECRET not in path.read_text(encoding="utf-8"), path.name
    assert "&lt;SECRET&gt;" in Path(hostile["result"]["prompts"][0]["html"]).read_text() or \
        "&lt;SECRET&gt;" in Path(hostile["result"]["prompts"][1]["html"]).read_text()
    with connect(hostile["settings"].db_path) as con:
        rows = con.execute("SELECT * FROM report_decisions").fetchall()
        # the secret is in the store (logs, evals): the report redacts, it does not delete
        assert con.execute("SELECT count(*) FROM requests WHERE contains(output, $s)",
                           {"s": SECRET}).fetchone()[0] > 0
    assert rows and SECRET not in json.dumps(rows, default=str)
    for report in hostile["result"]["prompts"]:
        markdown = artifact_markdown(report, hostile["result"]["run_date"])
        at = markdown.find(SECRET)
        assert at < 0, markdown[max(0, at - 300):at + 60]
        audit(MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown))


def test_the_hostile_prompt_name_cannot_leave_the_reports_folder(
        hostile: dict[str, Any]) -> None:
    names = sorted(p.name for p in hostile["folder"].iterdir() if p.suffix in (".html", ".md"))
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", n) for n in names), names
    assert "support.html" in names and len(names) == 5  # two reports × 2 + index
