"""Jinja2 rendering of the reports (templates/) and atomic file writes.

Two environments, both explicit about escaping: HTML with ``autoescape=True``; Markdown with
``autoescape=False`` and a ``finalize`` that escapes every expression for Markdown unless a
filter produced Markdown on purpose (tasks/reports/text.py). Both are ``StrictUndefined``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from flywheel.tasks import fmt
from flywheel.tasks.reports._text import md, md_fence, md_finalize

_TEMPLATES = jinja2.PackageLoader("flywheel.templates", ".")
_NUMBER_FILTERS: dict[str, Callable[..., str]] = {
    "pct": fmt.pct, "rate": fmt.rate, "pts": fmt.pts, "ci": fmt.ci, "pval": fmt.pval,
    "num": fmt.num, "count": fmt.count, "score": fmt.score, "days": fmt.days, "metric_value": fmt.metric_value,
}


def _common(env: jinja2.Environment, wrap: Callable[[str], Any]) -> jinja2.Environment:
    for name, function in _NUMBER_FILTERS.items():
        env.filters[name] = (lambda f: lambda *a, **k: wrap(f(*a, **k)))(function)
    env.globals["DASH"] = fmt.DASH
    return env


@cache
def html_environment() -> jinja2.Environment:
    """The HTML environment: every expression HTML-escaped."""
    env = jinja2.Environment(loader=_TEMPLATES, autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["svg"] = safe_svg
    return _common(env, str)


@cache
def markdown_environment() -> jinja2.Environment:
    """The Markdown environment: every expression Markdown-escaped (``finalize``)."""
    env = jinja2.Environment(loader=_TEMPLATES, autoescape=False,
                             undefined=jinja2.StrictUndefined, finalize=md_finalize,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = md
    env.filters["fence"] = md_fence
    return _common(env, Markup)


class _SvgCheck(HTMLParser):
    """Finds anything active in an SVG: scripts, foreign objects, event handlers, links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "foreignobject", "iframe", "image", "a", "object", "embed"):
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            lowered = (value or "").strip().lower()
            if name.startswith("on") or "javascript:" in lowered or (
                    name in ("href", "xlink:href", "src") and not lowered.startswith("#")):
                self.problems.append(f"{tag}[{name}]")


def safe_svg(svg: str) -> Markup:
    """An SVG made by tasks/reports/charts.py, checked to hold nothing active before it is
    inlined (matplotlib escapes text; this is the second line of defence)."""
    check = _SvgCheck()
    check.feed(svg)
    check.close()
    if check.problems or not svg.lstrip().startswith("<svg"):
        raise ValueError(f"refusing to inline an SVG with {', '.join(check.problems) or 'no root'}")
    return Markup(svg)


def render(template: str, context: dict[str, Any]) -> str:
    """Render ``templates/<template>`` (``.html.j2`` with the HTML environment, ``.md.j2`` with
    the Markdown one)."""
    env = html_environment() if template.endswith(".html.j2") else markdown_environment()
    return env.get_template(template).render(**context)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and a
    rename: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".report-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; reports are for reading
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
