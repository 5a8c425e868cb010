"""The report's charts: matplotlib figures saved as SVG text, inlined in the HTML (and written
beside the Markdown).

Deterministic: the same numbers give the same bytes (a fixed ``svg.hashsalt`` per chart kind, a
fixed font, no date or creator metadata, the metadata block removed). Readable without colour:
every series has its own marker, line style or hatch and is named in a legend or a label.
Text passes through matplotlib's XML escaping; ``$`` is escaped so user text never turns into
mathtext.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import lines, ticker
from matplotlib.figure import Figure

from flywheel.tasks.fmt import pct

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (3, 2, 1, 2)))
HATCHES = ("..", "//", "xx", "\\\\", "++", "oo", "--")
_RC = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "path.simplify": False,
}
_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def label(text: Any, limit: int = 48) -> str:
    """User text made safe for a matplotlib label: one line, cut, ``$`` escaped."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat.replace("\\", "\\\\").replace("$", r"\$")


def _svg(fig: Figure, salt: str) -> str:
    with matplotlib.rc_context({**_RC, "svg.hashsalt": f"flywheel-{salt}"}):
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1), count=1)
    return text.strip() + "\n"


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


@dataclass(frozen=True)
class ForestRow:
    """One line of a forest plot: a relative effect and its interval."""

    label: str
    group: str  # the series (treatment) it belongs to: marker and colour
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    note: str = ""  # e.g. the status
    emphasis: bool = False  # the primary metric


def forest_plot(rows: Sequence[ForestRow], title: str, salt: str = "forest",
                versus: str = "control") -> str:
    """Relative effects (against ``versus``) with their intervals, one row each, a line at
    zero."""
    groups = list(dict.fromkeys(r.group for r in rows))
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 0.9 + 0.32 * max(1, len(rows)))
        ax = fig.subplots()
        ys = list(range(len(rows)))[::-1]
        finite = [v for r in rows for v in (r.ci_low, r.ci_high, r.estimate)
                  if v is not None and math.isfinite(v)]
        span = max([abs(v) for v in finite] + [0.05])
        for y, row in zip(ys, rows, strict=True):
            i = groups.index(row.group) % len(MARKERS)
            if row.estimate is None or not math.isfinite(row.estimate):
                ax.text(0, y, "no estimate yet", va="center", ha="center", fontsize=8,
                        color="#555555")
                continue
            low = row.ci_low if row.ci_low is not None and math.isfinite(row.ci_low) else -span
            high = row.ci_high if row.ci_high is not None and math.isfinite(row.ci_high) else span
            significant = low > 0 or high < 0
            ax.errorbar([row.estimate], [y], xerr=[[row.estimate - low], [high - row.estimate]],
                        fmt=MARKERS[i], color=COLOURS[i], ecolor=COLOURS[i], capsize=3,
                        markersize=6, markerfacecolor=COLOURS[i] if significant else "white",
                        markeredgewidth=1.4, linewidth=1.4)
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_yticks(ys, labels=[label(r.label, 64) for r in rows])
        for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
            if row.emphasis:
                tick.set_fontweight("bold")
        ax.set_xlim(-span * 1.15, span * 1.15)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:+.0%}"))
        ax.set_xlabel(f"relative change vs {label(versus)} (filled marker: interval excludes 0)")
        ax.set_ylim(-0.7, len(rows) - 0.3)
        right = ax.secondary_yaxis("right")
        right.set_yticks(ys, labels=[
            label(f"{pct(r.estimate)} [{pct(r.ci_low) if r.ci_low is not None else '−∞'}, "
                  f"{pct(r.ci_high) if r.ci_high is not None else '+∞'}] {r.note}", 60)
            if r.estimate is not None else label(r.note) for r in rows])
        right.tick_params(length=0, labelsize=8)
        right.spines["right"].set_visible(False)
        ax.set_title(label(title, 90), loc="left")
        if len(groups) > 1:
            handles = [lines.Line2D([], [], marker=MARKERS[i % len(MARKERS)],
                                               color=COLOURS[i % len(COLOURS)], linestyle="none",
                                               label=label(g)) for i, g in enumerate(groups)]
            fig.legend(handles=handles, loc="outside lower center", ncol=min(4, len(groups)),
                       fontsize=8)
        return _svg(fig, salt)


def trend_plot(series: dict[str, list[dict[str, Any]]], title: str, ylabel: str,
               salt: str = "trend") -> str:
    """Each series' nightly estimate with its interval (``{run_date, estimate, ci_low,
    ci_high, status}`` per night), a line at zero."""
    nights = sorted({p["run_date"] for points in series.values() for p in points})
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 3.0)
        ax = fig.subplots()
        xs = {n: i for i, n in enumerate(nights)}
        for i, (name, points) in enumerate(series.items()):
            shown = [p for p in points if p["estimate"] is not None]
            if not shown:
                continue
            offset = (i - (len(series) - 1) / 2) * 0.08
            x = [xs[p["run_date"]] + offset for p in shown]
            y = [p["estimate"] for p in shown]
            low = [p["estimate"] - (p["ci_low"] if p["ci_low"] is not None else p["estimate"])
                   for p in shown]
            high = [(p["ci_high"] if p["ci_high"] is not None else p["estimate"]) - p["estimate"]
                    for p in shown]
            k = i % len(MARKERS)
            ax.errorbar(x, y, yerr=[low, high], fmt=MARKERS[k], linestyle=LINESTYLES[k],
                        color=COLOURS[k], capsize=3, markersize=5, linewidth=1.2,
                        label=label(name))
            for xi, p in zip(x, shown, strict=True):
                if p.get("status") == "significant":
                    ax.annotate("sig.", (xi, p["estimate"]), textcoords="offset points",
                                xytext=(4, 4), fontsize=7)
        ax.axhline(0, color="#333333", linewidth=0.8)
        ax.set_xticks(range(len(nights)), labels=[str(n)[5:] for n in nights])
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:+.0%}"))
        ax.set_ylabel(label(ylabel))
        ax.set_xlabel("night (MM-DD); bars: interval as computed that night")
        ax.set_title(label(title, 90), loc="left")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
        else:
            ax.text(0.5, 0.5, "no estimate yet", transform=ax.transAxes, ha="center")
        return _svg(fig, salt)


def tag_bars(tags: Sequence[dict[str, Any]], names: tuple[str, str], title: str,
             salt: str = "tags") -> str:
    """Pass rate per tag for production (``a``) and the candidate (``b``) (``{tag, cases, a,
    b}``, rates 0–1), side by side, the rate and the role written at each bar."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 0.9 + 0.42 * max(1, len(tags)))
        ax = fig.subplots()
        height = 0.38
        ys = list(range(len(tags)))[::-1]
        for j, (key, name) in enumerate((("a", names[0]), ("b", names[1]))):
            values = [t[key] if t[key] is not None else 0.0 for t in tags]
            offsets = [y + (height / 2 if j == 0 else -height / 2) for y in ys]
            bars = ax.barh(offsets, values, height=height, color=("#FFFFFF", "#9FC5E8")[j],
                           edgecolor="#222222", hatch=HATCHES[j], label=label(name),
                           linewidth=0.8)
            for bar, tag in zip(bars, tags, strict=True):
                text = "n/a" if tag[key] is None else f"{tag[key]:.0%}"
                ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                        f"{text} {('production', 'candidate')[j]}", va="center", fontsize=7)
        ax.set_yticks(ys, labels=[label(f"{t['tag']} ({t['cases']})") for t in tags])
        ax.set_xlim(0, 1.3)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], labels=["0%", "25%", "50%", "75%", "100%"])
        ax.set_xlabel("pass rate (cases in parentheses)")
        ax.set_title(label(title, 90), loc="left")
        ax.legend(loc="lower right", fontsize=8)
        return _svg(fig, salt)


def latency_plot(hists: dict[str, list[tuple[int, int]]], per_decade: int,
                 markers: dict[str, float | None], title: str, salt: str = "latency") -> str:
    """Latency distribution per group: the share of requests per log-spaced bin as a step
    line (own line style each), each group's p95 as a vertical line in the same style and in
    the legend."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 3.0)
        ax = fig.subplots()
        for i, (name, bins) in enumerate(hists.items()):
            total = sum(n for _, n in bins)
            if not total:
                continue
            k = i % len(LINESTYLES)
            counts = dict(bins)
            first, last = min(counts), max(counts)
            xs, ys = [], []
            for b in range(first, last + 1):  # empty bins drawn at zero, not skipped
                share = counts.get(b, 0) / total
                xs += [10 ** (b / per_decade), 10 ** ((b + 1) / per_decade)]
                ys += [share, share]
            p95 = markers.get(name)
            has_p95 = p95 is not None and math.isfinite(p95)
            text = f"{name} ({total:,} requests" + (f", p95 {p95:,.0f} ms)" if has_p95 else ")")
            ax.plot(xs, ys, linestyle=LINESTYLES[k], color=COLOURS[k], linewidth=1.6,
                    label=label(text, 70))
            if has_p95:
                ax.axvline(p95, linestyle=LINESTYLES[k], color=COLOURS[k], linewidth=0.9)
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms, log scale); vertical lines: each group's p95")
        ax.set_ylabel("share of requests per bin")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_title(label(title, 90), loc="left")
        ax.legend(loc="upper right", fontsize=8)
        return _svg(fig, salt)


def allocation_plot(weights: dict[str, list[tuple[str, float]]], title: str,
                    salt: str = "allocation") -> str:
    """A bandit's weight per arm and day (``{arm: [(YYYY-MM-DD, weight), ...]}``), as steps."""
    days = sorted({d for points in weights.values() for d, _ in points})
    with matplotlib.rc_context(_RC):
        fig = _figure(7.2, 2.8)
        ax = fig.subplots()
        xs = {d: i for i, d in enumerate(days)}
        for i, (name, points) in enumerate(weights.items()):
            k = i % len(MARKERS)
            ax.step([xs[d] for d, _ in points], [w for _, w in points], where="post",
                    marker=MARKERS[k], linestyle=LINESTYLES[k], color=COLOURS[k],
                    markersize=4, linewidth=1.4, label=label(name))
        ax.set_ylim(0, 1)
        ax.set_xticks(range(len(days)), labels=[d[5:] for d in days])
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_ylabel("share of new users")
        ax.set_xlabel("day the weights apply from (MM-DD)")
        ax.set_title(label(title, 90), loc="left")
        if weights:
            ax.legend(loc="best", fontsize=8)
        return _svg(fig, salt)
