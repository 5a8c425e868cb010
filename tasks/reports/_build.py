"""One night's reports: gather the evidence, redact it, decide, draw, render, write
``reports/DATE/<prompt>.html|.md`` and ``index.html``, and store the decisions.

The files depend only on the store and the project's files, never on the clock: re-making a
night's reports gives byte-identical files.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flywheel.tasks import fmt
from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, fetch_dicts, run, sql_text, transaction
from flywheel.tasks.errors import FlywheelError
from flywheel.tasks.mlflow_mirror import mirror_status
from flywheel.tasks.reports._commands import commands_for
from flywheel.tasks.reports._decide import decide
from flywheel.tasks.reports._evidence import Night, gather, night_steps
from flywheel.tasks.reports._figures import report_charts
from flywheel.tasks.reports._model import HOLD, Decision, PromptEvidence, evidence_of, subject_dict
from flywheel.tasks.reports._render import render, write_atomic
from flywheel.tasks.reports._rules import DecisionRules, load_rules
from flywheel.tasks.reports._text import redact_tree, redactor_of

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
MAX_STEM = 80  # file names stay far below the 255 bytes a file system allows
REPORT_FAILED = "report.failed"  # the rule of a prompt whose report could not be made
DEMO_NOTICE = ("made with flywheel's demo model (a rule table that stands in for an LLM), "
               "not with a real model")


def default_night(settings: Settings) -> date:
    """The night ``flywheel report`` covers by default: the last night the A/B analysis stored,
    else yesterday (UTC)."""
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        found = fetch_dicts(con, "reports/latest_ab_night")[0]["run_date"]
    return found or datetime.now(UTC).date() - timedelta(days=1)


def file_stem(prompt: str, taken: set[str]) -> str:
    """A file name for a prompt's report: its name with anything but letters, digits, ``.``,
    ``_``, ``-`` replaced (never hidden, never a path, at most 80 characters), unique within
    the night."""
    stem = _UNSAFE.sub("_", prompt).lstrip(".") or "prompt"
    if len(stem) > MAX_STEM:  # cut, and keep it unique with a digest of the full name
        stem = f"{stem[:MAX_STEM - 9]}-{hashlib.sha256(prompt.encode()).hexdigest()[:8]}"
    if stem.lower() in ("index",):
        stem = f"prompt-{stem}"
    candidate, i = stem, 2
    while candidate.lower() in taken:
        candidate, i = f"{stem}-{i}", i + 1
    taken.add(candidate.lower())
    return candidate


def _chart_files(folder: Path, stem: str, charts: dict[str, Any]) -> dict[str, Any]:
    """Write each chart beside the Markdown (GitHub shows SVG images); returns the file names
    in the shape of ``charts``."""
    files: dict[str, Any] = {"experiments": {}, "evals": {}, "promotion": {}}
    for i, (name, kinds) in enumerate(charts["experiments"].items()):
        files["experiments"][name] = {}
        for kind, svg in kinds.items():
            files["experiments"][name][kind] = None
            if svg is None:  # nothing to draw yet; the template says so
                continue
            file = f"{stem}.exp{i}-{kind}.svg"
            write_atomic(folder / file, svg)
            files["experiments"][name][kind] = file
    for i, (key, svg) in enumerate(charts["evals"].items()):
        file = f"{stem}.eval{i}-tags.svg"
        write_atomic(folder / file, svg)
        files["evals"][key] = file
    for kind, svg in charts["promotion"].items():
        files["promotion"][kind] = None
        if svg is None:
            continue
        file = f"{stem}.promotion-{kind}.svg"
        write_atomic(folder / file, svg)
        files["promotion"][kind] = file
    return files


def _names(tree: Any) -> list[str]:
    if isinstance(tree, dict):
        return [name for value in tree.values() for name in _names(value)]
    return [tree] if isinstance(tree, str) else []


def _report(evidence: dict[str, Any], rules: DecisionRules, settings: Settings,
            folder: Path, stem: str, run_date: str) -> dict[str, Any]:
    facts = evidence_of(evidence)
    decision = decide(facts, rules.for_prompt(facts.prompt))
    commands = commands_for(decision, facts.prompt, run_date, settings.db_path,
                            settings.project_dir)
    charts = report_charts(evidence)
    verdicts = {v.hash: v for v in decision.candidates}
    context = {
        **evidence, "decision": decision, "commands": commands, "charts": charts,
        "chart_files": _chart_files(folder, stem, charts),
        "candidates": [{**c, "verdict": verdicts[c["hash"]]} for c in evidence["candidates"]],
        "project_dir": str(settings.project_dir), "html_file": f"{stem}.html",
        "md_file": f"{stem}.md", "demo_notice": DEMO_NOTICE,
    }
    write_atomic(folder / f"{stem}.html", render("report.html.j2", context))
    write_atomic(folder / f"{stem}.md", render("report.md.j2", context))
    files = {f"{stem}.html", f"{stem}.md", *_names(context["chart_files"])}
    stored = decision.to_dict()
    return {"prompt": facts.prompt, "decision": decision.decision,
            "rule": decision.rule, "summary": decision.summary,
            "key_numbers": key_numbers(facts, decision),
            "days_more": decision.days_more, "subject": subject_dict(decision.subject),
            "production_hash": facts.production.hash if facts.production else None,
            "html_file": f"{stem}.html", "md_file": f"{stem}.md", "files": sorted(files),
            "command": commands["command"], "undo": commands["undo"],
            "details": {"candidates": stored["candidates"],
                        "production_checks": stored["production_checks"],
                        "rules": evidence["rules"]}}


def _candidate_numbers(evidence: PromptEvidence, subject: str | None) -> list[list[str]]:
    """The subject candidate's primary effect, sample, integrity and offline pass rates."""
    out: list[list[str]] = []
    candidate = next((c for c in evidence.candidates if c.hash == subject), None)
    if candidate is None:
        return out
    for arm in candidate.arms[:1]:
        exp = evidence.experiment(arm.experiment)
        assert exp is not None
        row = exp.effect(exp.primary_metric, arm.variant)
        if row:
            out.append([f"{exp.primary_metric} ({exp.name}, {arm.variant})",
                        f"{fmt.pct(row.estimate)} {fmt.ci(row.ci_low, row.ci_high)},"
                        f" adjusted p {fmt.pval(row.p_value_adjusted)}, {row.status}"])
        plan = exp.sample
        out.append(["sample", f"{fmt.count(plan.so_far)} of {fmt.count(plan.needed)} "
                              f"{plan.unit}, {fmt.days(exp.days_running)} running"])
        out.append(["integrity", "trustworthy" if exp.trustworthy else
                    "UNTRUSTWORTHY: " + ", ".join(exp.checks.failed)])
    for ev in candidate.evals:
        out.append([f"offline pass rate ({ev.evalset})",
                    f"{fmt.rate(ev.baseline_pass_rate)} → {fmt.rate(ev.candidate_pass_rate)}"
                    f" ({fmt.pts(ev.pass_rate_diff)})" + (" · demo model" if ev.demo_model else "")])
    return out


def key_numbers(evidence: PromptEvidence, decision: Decision) -> list[list[str]]:
    """The few numbers a reader needs beside the decision, as (what, value) pairs."""
    out = _candidate_numbers(evidence, decision.subject.hash)
    if evidence.promotion:
        for m in evidence.promotion.metrics:
            if m.metric in ("thumbs_up_rate", "latency_p95_ms"):
                out.append([f"{m.metric} after vs before the promotion",
                            f"{fmt.pct(m.estimate)} {fmt.ci(m.ci_low, m.ci_high)}, "
                            f"p {fmt.pval(m.p_value)}"])
    if decision.decision == HOLD:
        out.append(["more data needed", fmt.days(decision.days_more)
                    if decision.days_more is not None else "not a question of more data"])
    return out


def _store(settings: Settings, run_date: date, made: list[dict[str, Any]],
           now: datetime) -> list[dict[str, Any]]:
    rows = [{"run_date": run_date, "prompt": r["prompt"], "decision": r["decision"],
             "rule": r["rule"], "subject_hash": r["subject"].get("hash"),
             "production_hash": r["production_hash"], "summary": r["summary"],
             "command": r["command"], "days_more": r["days_more"], "html_file": r["html_file"],
             "md_file": r["md_file"], "details": json.dumps(r["details"], ensure_ascii=False),
             "computed_at": now} for r in made]
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        with transaction(con):
            run(con, "reports/decisions_delete", {"run_date": run_date})
            if rows:
                con.executemany(sql_text("reports/decisions_insert"), rows)
        return fetch_dicts(con, "reports/decisions_up_to", {"run_date": run_date})


def _index(folder: Path, run_date: date, stored: list[dict[str, Any]], rules_source: str,
           steps: list[dict[str, Any]] | None, mirror_behind: str | None = None,
           file_errors: list[dict[str, Any]] | None = None) -> Path:
    nights: dict[str, list[dict[str, Any]]] = {}
    for row in stored:
        night = row["run_date"].isoformat()
        prefix = "" if row["run_date"] == run_date else f"../{night}/"
        nights.setdefault(night, []).append({
            **row, "run_date": night, "html_href": prefix + row["html_file"],
            "md_href": prefix + row["md_file"]})
    night = run_date.isoformat()
    context = {"run_date": night, "tonight": nights.pop(night, []),
               "earlier": sorted(nights.items(), reverse=True), "rules_source": rules_source,
               "steps": steps, "mirror_behind": mirror_behind, "file_errors": file_errors or []}
    path = folder / "index.html"
    write_atomic(path, render("index.html.j2", context))
    return path


def _keep_foreign(folder: Path, staging: Path) -> None:
    """Carry the files flywheel did not write (anything but ``.html``, ``.md``, ``.svg``) over
    to the new folder: an earlier run's report files go, a reader's notes stay."""
    for path in folder.iterdir():
        if path.suffix not in (".html", ".md", ".svg") and not (staging / path.name).exists():
            if path.is_dir() and not path.is_symlink():
                shutil.copytree(path, staging / path.name, symlinks=True)
            else:
                shutil.copy2(path, staging / path.name, follow_symlinks=False)


@contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """A fresh hidden folder beside ``folder`` to write the night's files into; on success
    it replaces ``folder`` (renames), so ``reports/DATE/`` is always one whole run's files,
    never half of one, and holds nothing an earlier run wrote and this one did not. Leftovers
    of a killed run are removed first."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    for leftover in folder.parent.glob(f".{folder.name}.*"):
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; reports are for reading
        yield staging
        old = folder.parent / f".{folder.name}.old-{staging.name.rsplit('-', 1)[1]}"
        if folder.exists():
            _keep_foreign(folder, staging)
            folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _report_or_problem(evidence: dict[str, Any], rules: DecisionRules, settings: Settings,
                       folder: Path, taken: set[str], run_date: str) -> dict[str, Any]:
    """One prompt's report; if it cannot be made, a page that says why (and a HOLD), so one
    prompt's bad evidence costs that prompt's report, never the night's."""
    stem = file_stem(evidence["prompt"], taken)
    try:
        return _report(evidence, rules, settings, folder, stem, run_date)
    except Exception as exc:  # any failure of one prompt is shown on its page, not raised
        for path in folder.glob(f"{glob.escape(stem)}.*"):
            path.unlink()
        error = f"{type(exc).__name__}: {exc}"
        summary = f"HOLD: the report about {evidence['prompt']} could not be made ({error})"
        context = {"prompt": evidence["prompt"], "run_date": run_date, "error": error,
                   "md_file": f"{stem}.md"}
        write_atomic(folder / f"{stem}.html", render("report_error.html.j2", context))
        write_atomic(folder / f"{stem}.md", render("report_error.md.j2", context))
        return {"prompt": evidence["prompt"], "decision": HOLD, "rule": REPORT_FAILED,
                "summary": summary, "key_numbers": [["report error", error]],
                "days_more": None, "subject": {}, "production_hash": None,
                "html_file": f"{stem}.html", "md_file": f"{stem}.md",
                "files": [f"{stem}.html", f"{stem}.md"], "command": None, "undo": None,
                "details": {"error": error}}


def build_night(settings: Settings, run_date: date, now: datetime | None = None
                ) -> dict[str, Any]:
    """Make every report of ``run_date`` and its index; store the decisions. Returns what
    was written (the ``flywheel report --json`` object)."""
    rules = load_rules(settings.project_dir)
    night = Night(run_date)
    redactor = redactor_of(settings.redact)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        analysed = fetch_dicts(con, "reports/ab_night_count",
                               {"run_date": run_date})[0]["experiments"]
        files = sorted(settings.dir("experiments").glob("*.y*ml"))
        file_errors = fetch_dicts(con, "reports/ab_file_errors", {"run_date": run_date})
        if files and not analysed and not file_errors:  # else every candidate looks untested
            raise FlywheelError(
                f"no A/B results stored for the night of {run_date} although "
                f"{settings.dir('experiments')} has {len(files)} experiment file(s): run the "
                f"A/B analysis for that night first (`flywheel nightly --date {run_date}`)")
        gathered = gather(con, night, rules, settings.judge_min_kappa)
        steps = night_steps(con, night)
        mirror = mirror_status(con, settings)  # the MLflow mirror (docs/mlflow.md), if on
    folder = settings.dir("reports") / run_date.isoformat()
    steps = redact_tree(steps, redactor) if steps is not None else None
    behind = redact_tree(mirror.message, redactor) if mirror.behind else None
    with staged_folder(folder) as staging:
        taken: set[str] = set()
        file_errors = redact_tree(file_errors, redactor)
        made = [_report_or_problem(redact_tree(evidence, redactor) | {"file_errors": file_errors},
                                   rules, settings, staging, taken, run_date.isoformat())
                for evidence in gathered]
        stored = _store(settings, run_date, made, now or datetime.now(UTC))
        _index(staging, run_date, stored, rules.source, steps, behind, file_errors)
    index = folder / "index.html"
    return {
        "run_date": run_date.isoformat(), "reports_dir": str(folder), "index": str(index),
        "rules": rules.source, "mlflow_mirror_behind": behind,
        "prompts": [{k: r[k] for k in ("prompt", "decision", "rule", "summary", "days_more",
                                        "command", "undo", "key_numbers")}
                    | {"html": str(folder / r["html_file"]), "md": str(folder / r["md_file"]),
                       "subject": r["subject"]} for r in made],
    }
