"""Which charts a prompt's report shows, drawn from its (already redacted) evidence."""

from __future__ import annotations

from typing import Any

from flywheel.tasks.ab import METRICS
from flywheel.tasks.reports import _charts as charts
from flywheel.tasks.reports._evidence import PER_DECADE


def _forest_rows(exp: dict[str, Any]) -> list[charts.ForestRow]:
    rows = []
    treatments = [a["variant"] for a in exp["arms"]
                  if a.get("weight") is not None and a["variant"] != exp["control"]]
    for metric in METRICS:
        for variant in treatments:
            row = next((m for m in exp["metrics"]
                        if m["metric"] == metric and m["variant"] == variant), None)
            if row is None:
                continue
            better = "lower" if METRICS[metric].lower_is_better else "higher"
            primary = metric == exp["primary_metric"]
            name = f"{metric}{' (primary)' if primary else ''}, {better} is better"
            if len(treatments) > 1:
                name = f"{variant}: {name}"
            rows.append(charts.ForestRow(name, variant, row["estimate"], row["ci_low"],
                                         row["ci_high"], row["status"], primary))
    return rows


def experiment_charts(exp: dict[str, Any], index: int) -> dict[str, str | None]:
    """Forest plot of every metric, trend of the primary metric, latency per arm (``None``
    for a chart with nothing to draw yet: an experiment without traffic)."""
    out: dict[str, str | None] = {"forest": None, "trend": None, "latency": None}
    out["forest"] = (charts.forest_plot(
        _forest_rows(exp), f"{exp['name']}: relative effect per metric (95% interval)",
        salt=f"forest-{index}", versus=exp["control"]) if exp["metrics"] else None)
    trend = exp["history"].get(exp["primary_metric"], {})
    if trend:
        out["trend"] = charts.trend_plot(
            trend, f"{exp['name']}: {exp['primary_metric']} over the nights",
            f"{exp['primary_metric']}, relative to {exp['control']}", salt=f"trend-{index}")
    if exp.get("allocation_history"):
        out["allocation"] = _allocation_chart(exp, index)
    if exp["latency_hist"]:
        p95 = {}
        for m in exp["metrics"]:
            if m["metric"] == "latency_p95_ms":
                p95[m["variant"]] = m["treatment_mean"]
                p95[m["control"]] = m["control_mean"]
        out["latency"] = charts.latency_plot(
            exp["latency_hist"], PER_DECADE, p95,
            f"{exp['name']}: latency per arm", salt=f"latency-{index}")
    return out


def _allocation_chart(exp: dict[str, Any], index: int) -> str:
    """A bandit's weights per arm, from its start (declared) to the day after the night."""
    declared = {a["variant"]: a["weight"] for a in exp["arms"] if a.get("weight") is not None}
    series: dict[str, list[tuple[str, float]]] = {v: [(exp["start"][:10], w)]
                                                  for v, w in declared.items()}
    for row in exp["allocation_history"]:
        if row["variant"] in series:
            series[row["variant"]].append((row["starts_on"], row["weight"]))
    return charts.allocation_plot(series, f"{exp['name']}: allocation per arm",
                                  salt=f"allocation-{index}")


def eval_chart(ev: dict[str, Any], index: int) -> str:
    """Pass rate per tag (and over all cases) for production and the candidate."""
    comparison = ev["comparison"]
    tags = [{"tag": "all cases", "cases": comparison["paired_cases"],
             "a": comparison["baseline_pass_rate"], "b": comparison["candidate_pass_rate"]}]
    tags += [{"tag": t["tag"], "cases": t["paired_cases"], "a": t["baseline_pass_rate"],
              "b": t["candidate_pass_rate"]} for t in comparison.get("by_tag") or []]
    names = (f"production {ev['production']['short']}", f"candidate {ev['candidate']['short']}")
    return charts.tag_bars(tags, names, f"eval set {ev['evalset']}: pass rate per tag",
                           salt=f"tags-{index}")


def promotion_charts(promo: dict[str, Any]) -> dict[str, str | None]:
    """After vs before the promotion: forest plot of the metrics, latency of both windows
    (``None`` for a chart with nothing to draw: no window to compare)."""
    comp = promo["comparison"]
    rows = [charts.ForestRow(
        f"{m['metric']}, {'lower' if m['lower_is_better'] else 'higher'} is better",
        "after vs before", m["estimate"], m["ci_low"], m["ci_high"],
        m.get("direction") or "", False) for m in comp["metrics"]]
    out: dict[str, str | None] = {"forest": None, "latency": None}
    if rows:
        out["forest"] = charts.forest_plot(
            rows, "production after its promotion vs the version it replaced", salt="forest-p",
            versus="before the promotion")
    if promo["latency_hist"]:
        out["latency"] = charts.latency_plot(
            promo["latency_hist"], PER_DECADE, comp["p95_ms"],
            "latency before and after the promotion", salt="latency-p")
    return out


def report_charts(evidence: dict[str, Any]) -> dict[str, Any]:
    """Every chart of one prompt's report, keyed for the templates."""
    out: dict[str, Any] = {"experiments": {}, "evals": {},
                           "promotion": {"forest": None, "latency": None}}
    for i, exp in enumerate(evidence["experiments"]):
        out["experiments"][exp["name"]] = experiment_charts(exp, i)
    k = 0
    for candidate in evidence["candidates"]:
        for ev in candidate["evals"]:
            out["evals"][f"{candidate['hash']}:{ev['evalset_hash']}"] = eval_chart(ev, k)
            k += 1
    if evidence.get("promotion"):
        out["promotion"] = promotion_charts(evidence["promotion"])
    return out
