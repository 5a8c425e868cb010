"""The closed loop's quality trend (the demo's ``reports/quality-trend.html``): per day, the
thumbs-up rate of a prompt's traffic and the offline pass rate of its production version, each
promotion marked; and the two-proportion test of the last days against the first ones."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import duckdb
from scipy.stats import norm

from flywheel.tasks.db import fetch_dicts


def two_proportion_test(up_a: int, n_a: int, up_b: int, n_b: int) -> dict[str, float | None]:
    """One-sided z test (pooled) that proportion b exceeds proportion a (docs/statistics.md)."""
    if min(n_a, n_b) == 0:
        return {"z": None, "p_value": None}
    pooled = (up_a + up_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return {"z": None, "p_value": None}
    z = (up_b / n_b - up_a / n_a) / se
    return {"z": z, "p_value": float(norm.sf(z))}


def quality_trend(con: duckdb.DuckDBPyConnection, name: str, first: date, last: date,
                  window: int = 3) -> dict[str, Any]:
    """Per day: thumbs, thumbs-up rate, the production version and its pass rate; the ramps
    (started, completed, rolled back); the first ``window`` days against the last."""
    rates = {r["prompt_hash"]: float(r["pass_rate"]) for r in fetch_dicts(con, "optimize/pass_rates")}
    days = [{"day": r["day"].isoformat(), "thumbs": int(r["thumbs"]), "ups": int(r["ups"]),
             "thumbs_up_rate": r["ups"] / r["thumbs"] if r["thumbs"] else None,
             "production_hash": r["production_hash"],
             "pass_rate": rates.get(r["production_hash"] or "")}
            for r in fetch_dicts(con, "optimize/quality_trend",
                                 {"name": name, "first": datetime.combine(first, datetime.min.time()),
                                  "last": datetime.combine(last, datetime.min.time())})]
    events = [{"rollout_id": e["rollout_id"], "action": e["action"],
               "night": e["run_date"].isoformat() if e["run_date"] else None,
               "to_hash": e["to_hash"], "by": e["decided_by"], "reason": e["reason"]}
              for e in fetch_dicts(con, "optimize/ramp_events", {"subject": f"{name}@production"})]
    head, tail = days[:window], days[-window:]
    sums = [(sum(d["ups"] for d in part), sum(d["thumbs"] for d in part)) for part in (head, tail)]
    test = two_proportion_test(sums[0][0], sums[0][1], sums[1][0], sums[1][1])
    return {"prompt": name, "days": days, "ramp_events": events, "window_days": window,
            "first": {"ups": sums[0][0], "thumbs": sums[0][1]},
            "last": {"ups": sums[1][0], "thumbs": sums[1][1]}, "test": test}


def trend_svg(trend: dict[str, Any], width: int = 720, height: int = 260) -> str:
    """The trend as an inline SVG: thumbs-up rate (solid) and pass rate (dashed) per day, a
    vertical mark on the day after each completed ramp."""
    days = trend["days"]
    if not days:
        return "<p>No days.</p>"
    left, top, plot_w, plot_h = 48, 16, width - 64, height - 48
    x = [left + (plot_w * i / max(1, len(days) - 1)) for i in range(len(days))]

    def y(v: float) -> float:
        return top + plot_h * (1 - v)

    def line(key: str, dash: str) -> str:
        pts = " ".join(f"{x[i]:.1f},{y(d[key]):.1f}" for i, d in enumerate(days) if d[key] is not None)
        return f'<polyline fill="none" stroke="currentColor" stroke-width="2" {dash} points="{pts}"/>'

    marks = []
    index = {d["day"]: i for i, d in enumerate(days)}
    for e in trend["ramp_events"]:
        if e["action"] == "complete" and e["night"] in index and index[e["night"]] + 1 < len(days):
            xi = x[index[e["night"]] + 1]
            marks.append(f'<line x1="{xi:.1f}" x2="{xi:.1f}" y1="{top}" y2="{top + plot_h}" '
                         f'stroke="green" stroke-dasharray="2 3"><title>promoted '
                         f'{html.escape((e["to_hash"] or "")[:12])} after the night of '
                         f'{html.escape(e["night"])}</title></line>')
    grid = "".join(f'<text x="4" y="{y(v) + 4:.1f}" font-size="11">{v:.0%}</text>'
                   for v in (0.0, 0.5, 1.0))
    labels = "".join(f'<text x="{x[i] - 14:.1f}" y="{height - 12}" font-size="10">'
                     f'{html.escape(d["day"][5:])}</text>' for i, d in enumerate(days))
    dashed = 'stroke-dasharray="6 4"'
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="quality trend">{grid}{labels}{"".join(marks)}'
            f'{line("thumbs_up_rate", "")}{line("pass_rate", dashed)}</svg>')


def trend_html(trend: dict[str, Any], *, demo_model: bool,
               nights: Sequence[tuple[str, str]] = ()) -> str:
    """A page of its own: the chart, the day table, the ramps, the test (all text escaped);
    with ``nights`` (date, link to that night's report index) the demo's index page, which
    links every night's reports below the trend."""
    esc = html.escape
    night_list = "".join(f'<li><a href="{esc(href, quote=True)}">{esc(day)}</a></li>'
                         for day, href in nights)
    rows = "".join(
        f"<tr><td>{esc(d['day'])}</td><td>{d['thumbs']}</td><td>"
        f"{'' if d['thumbs_up_rate'] is None else format(d['thumbs_up_rate'], '.1%')}</td>"
        f"<td><code>{esc((d['production_hash'] or '')[:12])}</code></td><td>"
        f"{'' if d['pass_rate'] is None else format(d['pass_rate'], '.1%')}</td></tr>"
        for d in trend["days"])
    events = "".join(f"<li>{esc(e['night'] or '')}: ramp {e['rollout_id']} {esc(e['action'])} "
                     f"(<code>{esc((e['to_hash'] or '')[:12])}</code>, {esc(e['by'])}): "
                     f"{esc(e['reason'])}</li>" for e in trend["ramp_events"])
    t, first, last = trend["test"], trend["first"], trend["last"]
    verdict = ("n/a" if t["p_value"] is None else
               f"z = {t['z']:.2f}, one-sided p = {t['p_value']:.2g}")
    label = ('<p data-demo-model><strong>Made with the demo model</strong> (flywheel\'s '
             'deterministic stand-in; docs/optimize.md).</p>' if demo_model else "")
    title = (f"flywheel demo: quality trend of {esc(trend['prompt'])}" if nights
             else f"Quality trend of {esc(trend['prompt'])}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1>{label}{trend_svg(trend)}"
            "<p>Solid: thumbs-up rate of the day's traffic; dashed: offline pass rate of the "
            "production version; green marks: a promotion ramp completed.</p>"
            f"<p>First {trend['window_days']} days {first['ups']}/{first['thumbs']} thumbs up, "
            f"last {trend['window_days']} days {last['ups']}/{last['thumbs']}: "
            f"two-proportion test {verdict}.</p>"
            "<table><tr><th>day</th><th>thumbs</th><th>up rate</th><th>production</th>"
            f"<th>pass rate</th></tr>{rows}</table><h2>Ramps</h2><ul>{events or '<li>none</li>'}"
            "</ul>"
            + (f"<h2>Nights</h2><p>Each night's reports (experiments, offline evals, "
               f"monitoring, proposals):</p><ul>{night_list}</ul>" if nights else "")
            + "</body></html>")
