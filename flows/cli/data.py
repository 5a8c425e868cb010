"""``flywheel sample-data``, ``flywheel demo`` and ``flywheel nightly``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from flywheel.flows.cli.common import JsonOption, app, emit, foreground_prefect, settings_of
from flywheel.flows.cli.prefect_start import LocalServer
from flywheel.flows.night import default_run_date  # no Prefect import: a quick --help
from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.errors import UsageError
from flywheel.tasks.progress import Progress, progress_bar
from flywheel.tasks.sample_data import SampleSpec


@app.command("sample-data")
def sample_data(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the sample project into.")],
    days: Annotated[int, typer.Option(help="Days of traffic.")] = SampleSpec.days,
    users: Annotated[int, typer.Option(help="Distinct users.")] = SampleSpec.users,
    seed: Annotated[int, typer.Option(help="Random seed (equal seeds, equal files).")] = SampleSpec.seed,
    as_json: JsonOption = False,
) -> None:
    """Write realistic request and feedback logs with a known true effect between variants."""
    if days < 1 or users < 1:
        raise UsageError("--days and --users must be at least 1")
    from flywheel.tasks.sample_data import write_sample_data

    truth = write_sample_data(out, SampleSpec(days=days, users=users, seed=seed))
    result = {"out": str(out.resolve()), "files": truth["files"],
              "truth": str((out / "TRUTH.json").resolve())}
    emit(result, as_json, lambda r: f"wrote {len(r['files'])} log files under {r['out']}/landing\n"
         f"the true effects and the planted malformed lines are in {r['truth']}")


def run_nights(settings: Settings, first: date, last: date, progress: Progress | None = None,
               server: LocalServer | None = None) -> list[dict[str, Any]]:
    """Run the ``nightly-range`` flow from ``first`` to ``last`` (heartbeats off: a foreground
    command) on ``server`` once it answers (else Prefect's usual server); returns each night's
    result as data (``run_date``, ``ok``, ``summary``, ``error``)."""
    from flywheel.flows.backfill import nightly_range
    from flywheel.flows.night import GivenSettings

    if server is not None:
        server.wait()
    with foreground_prefect():
        state = nightly_range(first=first, last=last, settings=GivenSettings(settings), progress=progress,
                              return_state=True)
    results = state.result(raise_on_failure=False)
    if isinstance(results, BaseException):
        raise results
    return [r.to_dict() for r in results]


def _night_line(night: dict[str, Any]) -> str:
    summary = night.get("summary") or {}
    steps = ", ".join(f"{s['step']} {s['status']} {s['seconds']:.1f}s" for s in summary.get("steps", []))
    monitoring = summary.get("monitoring") or {}
    alerts = f"; {monitoring['alerts']} alert(s)" if monitoring.get("alerts") else ""
    alerts += "".join(f"; experiment {e['name']} not analysed: {e['error']}"
                      for e in summary.get("ab") or [] if e.get("status") == "file error")
    if night["ok"]:
        return f"{night['run_date']}: ok ({steps}{alerts})"
    return f"{night['run_date']}: FAILED: {night['error']}" + (f" ({steps})" if steps else "")


def _night_range(run_date: str | None, date_from: str | None, date_to: str | None
                 ) -> tuple[date, date]:
    """The first and last night the options ask for (checked before the flows are imported)."""
    try:
        if date_from or date_to:
            if run_date or not (date_from and date_to):
                raise UsageError("give either --date, or both --from and --to")
            first, last = date.fromisoformat(date_from), date.fromisoformat(date_to)
        else:
            first = last = date.fromisoformat(run_date) if run_date else default_run_date()
    except ValueError as exc:
        raise UsageError(f"bad date: {exc}") from None
    if last < first:
        raise UsageError(f"--to {last} is before --from {first}")
    return first, last


@app.command()
def nightly(
    ctx: typer.Context,
    run_date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: yesterday, UTC).")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Backfill: first date.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Backfill: last date.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the whole nightly flow for a date, or each date of a range (backfill)."""
    settings = settings_of(ctx)
    first, last = _night_range(run_date, date_from, date_to)
    from flywheel.flows.cli.prefect_start import start_server_early

    server = start_server_early()  # starts while the flows are imported
    with progress_bar("nights", unit="nights", enabled=not as_json and last > first) as bar:
        results = run_nights(settings, first, last, bar, server)
    emit({"nights": results}, as_json, lambda r: "\n".join(_night_line(n) for n in r["nights"]))
    if not all(n["ok"] for n in results):
        raise typer.Exit(1)


@contextmanager
def _model_endpoint(settings: Settings) -> Iterator[tuple[Settings, str]]:
    """The settings' model endpoint (OPENAI_BASE_URL) when set; else flywheel's demo model on a
    free loopback port for the span of the demo (stopped at the end), in the settings."""
    if settings.openai_base_url:
        yield settings, settings.openai_base_url
        return
    from flywheel.tasks.demo_model import DemoModelServer

    with DemoModelServer() as server:
        yield (replace(settings, openai_base_url=server.base_url),
               f"{server.base_url} (flywheel demo model)")


def _demo_human(r: dict[str, Any], last: dict[str, Any]) -> str:
    """The demo's result for a person: where everything is, the last night, the alerts."""
    ok = sum(n["ok"] for n in r["nights"])
    lines = [
        f"flywheel demo: {ok} of {len(r['nights'])} nights ran "
        f"({r['nights'][0]['run_date']} … {r['nights'][-1]['run_date']}).",
        f"  sample project  {r['workdir']}  (prompts/, experiments/, evalsets/)",
        f"  landed logs     {r['landing']}",
        f"  the loop's rules {r['truth']}",
        f"  DuckDB store    {r['db']}",
        f"  model endpoint  {r['model_endpoint']}",
        f"  last night      {', '.join(s['step'] + ' ' + s['status'] for s in last.get('steps', []))}",
        f"  monitoring      {len(r['alerts'])} alert(s) over the nights"
        + ("" if r["anomalies_planted"] else " (add --plant-anomalies to see it catch some)"),
    ]
    lines += [f"    {a['run_date']} [{a['severity']}] {a['message']}" for a in r["alerts"][:10]]
    trend = r["quality_trend"]
    first, final, test = trend["first"], trend["last"], trend["test"]
    if first["thumbs"] and final["thumbs"]:
        lines.append(f"  support quality thumbs up {first['ups'] / first['thumbs']:.1%} (first days) → "
                     f"{final['ups'] / final['thumbs']:.1%} (last days)"
                     + (f", one-sided p = {test['p_value']:.2g}" if test["p_value"] is not None else ""))
    lines += [f"    {e['night']}: ramp {e['rollout_id']} {e['action']} ({e['by']})"
              for e in trend["ramp_events"]]
    lines.append(f"  quality trend   {r['reports']}/quality-trend.html")
    lines += [f"  FAILED {n['run_date']}: {n['error']}" for n in r["nights"] if not n["ok"]]
    lines.append(f"Explore: flywheel --db {r['db']} --project-dir {r['workdir']} --help")
    return "\n".join(lines)


DEMO_TOML = """# Written by `flywheel demo`: the support prompt opts in to the closed loop
# (docs/optimize.md): proposals from its feedback, an offline eval, a guarded ramp.
[auto.support]
method = "all"
stages = [0.1, 0.5, 1.0]
min_users_per_stage = 30
"""


def _loop_project(workdir: Path, start: date) -> Settings:
    """The demo's project: the example files, ``[auto.support]``, the registry and a first
    serving.json (so that the first day is served like every other). The support application
    routes by the production label, so the example's tone-test experiment is left out."""
    from flywheel.tasks.db import connect
    from flywheel.tasks.registry import folder_files, sync_paths
    from flywheel.tasks.sample_data import write_project
    from flywheel.tasks.serving import write_snapshot

    write_project(workdir)
    (workdir / "experiments" / "tone-test.yaml").unlink(missing_ok=True)
    (workdir / "flywheel.toml").write_text(DEMO_TOML, encoding="utf-8")
    settings = load_settings(db=workdir / "flywheel.duckdb", project_dir=workdir)
    before = datetime.combine(start, datetime.min.time(), UTC)
    prompts = settings.dir("prompts")
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        sync_paths(con, folder_files(prompts), folder=prompts, base=workdir, by="flywheel-demo",
                   now=before)
    write_snapshot(settings, reason="flywheel demo: before its first day", now=before)
    return settings


def _closed_loop(settings: Settings, spec: SampleSpec, server: LocalServer, bar: Progress
                 ) -> tuple[list[dict[str, Any]], list[Any]]:
    """Each day: the application serves and logs its traffic from the current serving.json,
    then the night runs on it (and writes the next serving.json)."""
    from flywheel.tasks.sample_data import ClosedLoopApp

    assert settings.openai_base_url is not None
    app = ClosedLoopApp(settings.project_dir, spec, settings.openai_base_url)
    results: list[dict[str, Any]] = []
    days = []
    bar.set_total(spec.days)
    for day in range(spec.days):
        days.append(app.run_day(day))
        night = spec.start + timedelta(days=day)
        results += run_nights(settings, night, night, None, server)
        bar.advance()
    return results, days


def _trend(settings: Settings, spec: SampleSpec, demo_model: bool) -> dict[str, Any]:
    """The support prompt's quality trend, written as reports/quality-trend.html and .json and
    as the demo's index page, reports/index.html (the trend, then a link to each night's
    reports/DATE/index.html)."""
    import json

    from flywheel.tasks.db import connect
    from flywheel.tasks.optimize import quality_trend, trend_html

    last = spec.start + timedelta(days=spec.days - 1)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s, read_only=True) as con:
        trend = quality_trend(con, "support", spec.start, last)
    folder = settings.dir("reports")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "quality-trend.html").write_text(trend_html(trend, demo_model=demo_model),
                                               encoding="utf-8")
    nights = [(d.name, f"{d.name}/index.html") for d in sorted(folder.iterdir())
              if (d / "index.html").is_file()]
    (folder / "index.html").write_text(trend_html(trend, demo_model=demo_model, nights=nights),
                                       encoding="utf-8")
    (folder / "quality-trend.json").write_text(json.dumps(trend, indent=2) + "\n",
                                               encoding="utf-8")
    return trend


@app.command()
def demo(
    workdir: Annotated[Path | None, typer.Option("--workdir", help="Folder for the demo (default: a new one here).")] = None,
    days: Annotated[int, typer.Option(help="Days of traffic.")] = SampleSpec.days,
    users: Annotated[int, typer.Option(help="Distinct users.")] = SampleSpec.users,
    plant_anomalies: Annotated[bool, typer.Option(
        "--plant-anomalies", help="Plant a latency regression and an input-length shift in the "
        "last days, for the monitoring to catch.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The closed loop, offline: each day's traffic is served from the previous night's
    serving.json and logged, then the nightly flow runs on it (docs/optimize.md)."""
    if days < 1 or users < 1:
        raise UsageError("--days and --users must be at least 1")
    if workdir is None:
        workdir = Path.cwd() / f"flywheel-demo-{datetime.now():%Y%m%d-%H%M%S}"
    workdir = workdir.resolve()
    given = load_settings(project_dir=workdir)
    if given.openai_base_url:  # refused before anything starts: one line, the secret masked
        from flywheel.tasks.evals import checked_base_url

        checked_base_url(given.openai_base_url.strip(), "OPENAI_BASE_URL",
                         given.openai_api_key_env)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    spec = SampleSpec(days=days, users=users)
    if plant_anomalies:
        spec = replace(spec, latency_regression_day=max(days - 3, 0), input_shift_day=max(days - 2, 0))
    from flywheel.flows.cli.prefect_start import start_server_early
    from flywheel.tasks.sample_data import loop_truth

    server = start_server_early()  # Prefect's server starts while the project is prepared
    base = _loop_project(workdir, spec.start)
    with _model_endpoint(base) as (settings, model_url), \
            progress_bar("demo days", unit="days", enabled=not as_json) as bar:
        results, logged = _closed_loop(settings, spec, server, bar)
        trend = _trend(settings, spec, demo_model=base.openai_base_url is None)
    truth = loop_truth(spec, logged, workdir)
    (workdir / "TRUTH.json").write_text(__import__("json").dumps(truth, indent=2) + "\n")
    alerts = [a for n in results for a in ((n.get("summary") or {}).get("monitoring") or {}).get("alert_list", [])]
    result = {
        "workdir": str(workdir), "db": str(settings.db_path), "landing": str(workdir / "landing"),
        "truth": str(workdir / "TRUTH.json"), "reports": str(workdir / "reports"),
        "nights": [{"run_date": n["run_date"], "ok": n["ok"], "error": n.get("error")} for n in results],
        "malformed_lines_planted": 0, "model_endpoint": model_url,
        "anomalies_planted": truth["anomalies"],
        "alerts": [{"run_date": a["run_date"], "severity": a["severity"], "message": a["message"]}
                   for a in alerts],
        "quality_trend": {k: trend[k] for k in ("first", "last", "test", "ramp_events")},
    }
    last = results[-1]["summary"] or {} if results else {}
    emit(result, as_json, lambda r: _demo_human(r, last))
    if not all(n["ok"] for n in results):
        raise typer.Exit(1)
