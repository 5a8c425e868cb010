"""One offline eval run: plan the calls, answer what the cache knows, make the rest through an
executor (the flow's task runner), judge, score, and store runs and results in DuckDB.

The HTTP calls may run anywhere (threads, Dask workers); every DuckDB write happens here, in the
calling process, in short connections between the phases (DuckDB allows one writer).
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, run, transaction
from flywheel.tasks.errors import UsageError
from flywheel.tasks.evals import _cache as cache
from flywheel.tasks.evals._client import (
    BatchOutcome,
    CallOptions,
    CallResult,
    CallSpec,
    Endpoint,
    run_calls,
)
from flywheel.tasks.evals._compare import summarize
from flywheel.tasks.evals._evalset import EvalCase, EvalSet, load_evalset
from flywheel.tasks.evals._judge import MalformedVerdict, Verdict, judge_messages, parse_verdict
from flywheel.tasks.evals._scorers import PythonChecks, ScorerError, score_case
from flywheel.tasks.progress import Progress
from flywheel.tasks.registry import PromptVersion, render_messages, resolve

# Makes a batch of calls; the label names the phase ("model", "judge", "judge retry").
Executor = Callable[[Sequence[CallSpec], str], BatchOutcome]
JUDGE_PARAMS: dict[str, Any] = {"temperature": 0.0}
_DATE_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


class JudgeError(ScorerError):
    """The judge could not give a valid verdict (API error, or malformed JSON twice)."""


@dataclass(frozen=True)
class Cell:
    """One (version, case, repeat) of the run and the key of its model call."""

    version: int
    case: EvalCase
    repeat: int
    key: str


@dataclass
class PhaseStats:
    """Calls a run needed, how many the cache answered, HTTP attempts, errors."""

    total: int = 0
    cached: int = 0
    http: int = 0
    errored: int = 0
    pids: set[int] = field(default_factory=set)

    def add(self, other: PhaseStats) -> None:
        """Accumulate another phase."""
        self.total += other.total
        self.cached += other.cached
        self.http += other.http
        self.errored += other.errored
        self.pids |= other.pids


@dataclass
class EvalPlan:
    """What a run will do: the eval set, the versions (baseline first), the model calls."""

    run_id: str
    evalset: EvalSet
    refs: list[str]
    versions: list[PromptVersion]
    endpoints: list[Endpoint]
    repeats: int
    cells: list[Cell]
    specs: dict[str, CallSpec] = field(default_factory=dict)

    def describe_versions(self) -> list[dict[str, Any]]:
        """ref, name, hash, short hash, model and endpoint of each version (no secrets)."""
        return [{"ref": ref, "name": v.name, "hash": v.hash, "short": v.short,
                 "model": v.content.get("model"), "base_url": e.base_url}
                for ref, v, e in zip(self.refs, self.versions, self.endpoints, strict=True)]


def in_process_executor(options: CallOptions, progress: Progress | None = None) -> Executor:
    """An :data:`Executor` that makes every call of a phase in this process, on one event loop
    with ``options.concurrency`` calls in flight (what a command without Prefect uses)."""
    progress = progress or Progress()

    def execute(specs: Sequence[CallSpec], label: str) -> BatchOutcome:
        progress.set_total(len(specs), f"eval {label} calls")
        return run_calls(list(specs), options, progress.advance)

    return execute


def call_options(settings: Settings, concurrency: int | None = None) -> CallOptions:
    """The call policy from the settings (``concurrency`` overrides the configured one)."""
    return CallOptions(
        concurrency=concurrency or settings.eval_concurrency, timeout_s=settings.eval_timeout_s,
        max_attempts=settings.eval_max_attempts, backoff_base_s=settings.eval_backoff_base_s,
        backoff_max_s=settings.eval_backoff_max_s, stream=settings.eval_stream,
    )


class NoEndpointError(UsageError):
    """No usable model endpoint is configured (none set, or a URL that cannot be used)."""


def _shown_url(url: str) -> str:
    """The URL as it may be printed: query and fragment dropped, and everything before the last
    ``@`` but the scheme masked (a password may hold ``/`` or ``:``)."""
    head = url.split("?", 1)[0].split("#", 1)[0]
    if "@" not in head:
        return head
    userinfo, host = head.rsplit("@", 1)
    scheme = userinfo[: userinfo.index("//") + 2] if "//" in userinfo else ""
    return f"{scheme}***@{host}"


def checked_base_url(url: str, source: str, key_env: str) -> str:
    """``url`` when it is a usable endpoint (``http(s)://host[:port][/path]`` with no
    credentials), else :class:`NoEndpointError` saying why without printing a secret: the key
    belongs in the ``key_env`` variable, never in the URL (it would be logged and cached)."""
    shown = _shown_url(url)
    if "@" in url.split("?", 1)[0].split("#", 1)[0]:
        raise NoEndpointError(f"{source} holds credentials ({shown}): remove 'user:password@' "
                              f"and put the key in {key_env}")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0..65535
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise NoEndpointError(f"{source} is not a valid endpoint URL ({shown!r}): expected "
                              "http(s)://host[:port][/path], e.g. http://127.0.0.1:8000/v1")
    return url


def endpoint_for(settings: Settings, prompt_name: str | None) -> Endpoint:
    """The endpoint of a prompt: its ``eval_endpoints`` entry, else OPENAI_BASE_URL's;
    :class:`NoEndpointError` when there is none or its URL cannot be used."""
    override = settings.eval_endpoints.get(prompt_name or "", {})
    base_url = override.get("base_url") or settings.openai_base_url
    if not base_url:
        raise NoEndpointError(
            f"no model endpoint for {prompt_name or 'the judge'}: set OPENAI_BASE_URL (any "
            f"OpenAI-compatible server), or {settings.openai_api_key_env} for OpenAI's")
    key_env = override.get("api_key_env", settings.openai_api_key_env)
    source = (f"flywheel.toml [eval_endpoints.{prompt_name}] base_url" if override.get("base_url")
              else "OPENAI_BASE_URL")
    base_url = checked_base_url(base_url.strip(), source, key_env)
    return Endpoint(base_url=base_url.rstrip("/"), api_key_env=key_env)


def price_of(
    prices: dict[str, tuple[float, float]], *models: str | None
) -> tuple[float, float] | None:
    """The (input, output) USD per 1M tokens of the first model found (a dated snapshot
    ``name-YYYY-MM-DD`` is priced as ``name``)."""
    for model in models:
        if not model:
            continue
        for name in (model, _DATE_SUFFIX.sub("", model)):
            if name in prices:
                return prices[name]
    return None


def cost_usd(price: tuple[float, float] | None, prompt_tokens: int | None,
             completion_tokens: int | None) -> float | None:
    """USD for a call's tokens, or None when the price or the usage is unknown."""
    if price is None or prompt_tokens is None or completion_tokens is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6


def plan_run(settings: Settings, evalset_path: str | Path, refs: Sequence[str], repeats: int,
             checks: PythonChecks, run_id: str | None = None) -> EvalPlan:
    """Load and validate everything, and render every call, before any is made."""
    if repeats < 1:
        raise UsageError("--repeats must be at least 1")
    if not refs:
        raise UsageError("give at least one --prompt REF")
    evalset = load_evalset(evalset_path, python_resolver=checks)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        versions = [resolve(con, ref) for ref in refs]
    seen: dict[str, str] = {}
    for ref, version in zip(refs, versions, strict=True):
        if version.hash in seen:
            raise UsageError(f"--prompt {ref} is the same version as --prompt {seen[version.hash]}")
        seen[version.hash] = ref
    endpoints = [endpoint_for(settings, v.name) for v in versions]
    plan = EvalPlan(run_id=run_id or f"eval-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
                    evalset=evalset, refs=list(refs), versions=versions, endpoints=endpoints,
                    repeats=repeats, cells=[])
    for index, (version, endpoint) in enumerate(zip(versions, endpoints, strict=True)):
        model = str(version.content.get("model") or "")
        if not model:
            raise UsageError(f"prompt {version.name}:{version.short} has no model")
        params = dict(version.content.get("params") or {})
        for case in evalset.cases:
            messages = render_messages(
                version.content, case.vars,
                prompt=f"{version.name}:{version.short} on {evalset.path}:{case.line} "
                f"(case {case.id})")
            for repeat in range(repeats):
                key = cache.cache_key(endpoint.base_url, model, messages, params, repeat)
                plan.specs.setdefault(key, CallSpec(key, endpoint, model, tuple(messages), params))
                plan.cells.append(Cell(index, case, repeat, key))
    return plan


def call_phase(settings: Settings, specs: dict[str, CallSpec], execute: Executor, label: str,
               *, no_cache: bool) -> tuple[dict[str, CallResult], PhaseStats]:
    """Answer ``specs`` from the cache, make the rest with ``execute``, cache the successes."""
    stats = PhaseStats(total=len(specs))
    if not specs:
        return {}, stats
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        found = {} if no_cache else cache.lookup(con, specs)
    pending = [spec for key, spec in specs.items() if key not in found]
    outcome = execute(pending, label)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        cache.store(con, specs, outcome.results)
    results = {**found, **{r.key: r for r in outcome.results}}
    stats.cached = len(found)
    stats.http = outcome.http_attempts
    stats.errored = sum(1 for r in outcome.results if not r.ok)
    stats.pids = set(outcome.pids)
    return results, stats


class _Judging:
    """The llm-rubric phase: one judge call per distinct (rubric, output, variables)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.endpoint: Endpoint | None = None  # looked up when a rubric needs the judge
        self.model = settings.eval_judge_model
        self.key_of: dict[tuple[str, str, str], str] = {}
        self.specs: dict[str, CallSpec] = {}
        self.verdicts: dict[str, Verdict | str] = {}
        self.results: dict[str, CallResult] = {}
        self.request_of: dict[str, tuple[str, str, dict[str, Any]]] = {}

    def _spec(self, messages: list[dict[str, str]]) -> CallSpec:
        self.endpoint = self.endpoint or endpoint_for(self.settings, None)
        key = cache.cache_key(self.endpoint.base_url, self.model, messages, JUDGE_PARAMS, 0)
        return CallSpec(key, self.endpoint, self.model, tuple(messages), dict(JUDGE_PARAMS))

    @staticmethod
    def _id(rubric: str, output: str, case: EvalCase) -> tuple[str, str, str]:
        return (rubric, output, json.dumps(case.vars, sort_keys=True, ensure_ascii=False))

    def want(self, rubric: str, output: str, case: EvalCase) -> None:
        ident = self._id(rubric, output, case)
        if ident not in self.key_of:
            spec = self._spec(judge_messages(rubric, output, case.vars))
            self.key_of[ident] = spec.key
            self.specs[spec.key] = spec
            self.request_of[spec.key] = (rubric, output, case.vars)

    def run(self, execute: Executor, no_cache: bool) -> PhaseStats:
        results, stats = call_phase(self.settings, self.specs, execute, "judge", no_cache=no_cache)
        self.results.update(results)
        retries: dict[str, CallSpec] = {}
        retry_of: dict[str, str] = {}
        for key, result in results.items():
            if not result.ok:
                self.verdicts[key] = f"judge call failed: {result.error}"
                continue
            try:
                self.verdicts[key] = parse_verdict(result.output or "")
            except MalformedVerdict:
                rubric, output, variables = self.request_of[key]
                spec = self._spec(judge_messages(rubric, output, variables,
                                                 retry_of=result.output or ""))
                retries[spec.key] = spec
                retry_of[key] = spec.key
        again, more = call_phase(self.settings, retries, execute, "judge retry",
                                 no_cache=no_cache)
        stats.add(more)
        self.results.update(again)
        for key, retry_key in retry_of.items():
            result = again[retry_key]
            if not result.ok:
                self.verdicts[key] = f"judge call failed: {result.error}"
                continue
            try:
                self.verdicts[key] = parse_verdict(result.output or "")
            except MalformedVerdict as exc:
                self.verdicts[key] = f"judge reply malformed twice: {exc}"
            self.results[key] = _merge_usage(self.results[key], result)
        return stats

    def verdict(self, rubric: str, output: str, case: EvalCase) -> Verdict:
        value = self.verdicts[self.key_of[self._id(rubric, output, case)]]
        if isinstance(value, str):
            raise JudgeError(value)
        return value

    def usage(self, output: str, case: EvalCase) -> tuple[int, int, bool]:
        """Judge tokens spent on this output's rubrics, and whether any came from the demo."""
        prompt = completion = 0
        demo = False
        for assertion in case.asserts:
            if assertion.type != "llm-rubric":
                continue
            result = self.results.get(self.key_of[self._id(assertion.value, output, case)])
            if result is not None and result.ok:
                prompt += result.prompt_tokens or 0
                completion += result.completion_tokens or 0
                demo = demo or result.system_fingerprint == "flywheel-demo"
        return prompt, completion, demo


def _merge_usage(first: CallResult, second: CallResult) -> CallResult:
    return CallResult(
        key=first.key, output=second.output, response_model=second.response_model,
        system_fingerprint=second.system_fingerprint,
        prompt_tokens=(first.prompt_tokens or 0) + (second.prompt_tokens or 0),
        completion_tokens=(first.completion_tokens or 0) + (second.completion_tokens or 0),
        cached=first.cached and second.cached,
    )


_RESULT_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("prompt_hash", pa.string()), ("case_id", pa.string()),
    ("repeat_index", pa.int32()), ("tags", pa.list_(pa.string())), ("output", pa.string()),
    ("passed", pa.bool_()), ("score", pa.float64()), ("assertions", pa.string()),
    ("error", pa.string()), ("error_kind", pa.string()), ("latency_ms", pa.float64()),
    ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()),
    ("judge_prompt_tokens", pa.int64()), ("judge_completion_tokens", pa.int64()),
    ("cost_usd", pa.float64()), ("cached", pa.bool_()), ("attempts", pa.int32()),
    ("response_model", pa.string()), ("system_fingerprint", pa.string()),
])


def _score_rows(settings: Settings, plan: EvalPlan, results: dict[str, CallResult],
                judging: _Judging, checks: PythonChecks) -> list[dict[str, Any]]:
    judge_price = price_of(settings.prices, judging.model)
    rows = []
    for cell in plan.cells:
        version = plan.versions[cell.version]
        result = results[cell.key]
        row: dict[str, Any] = {
            "run_id": plan.run_id, "prompt_hash": version.hash, "case_id": cell.case.id,
            "repeat_index": cell.repeat, "tags": list(cell.case.tags), "output": result.output,
            "passed": None, "score": None, "assertions": None, "error": None,
            "error_kind": None, "latency_ms": result.latency_ms,
            "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
            "judge_prompt_tokens": None, "judge_completion_tokens": None, "cost_usd": None,
            "cached": result.cached, "attempts": result.attempts,
            "response_model": result.response_model,
            "system_fingerprint": result.system_fingerprint,
        }
        price = price_of(settings.prices, version.content.get("model"), result.response_model)
        if not result.ok:
            row |= {"error": result.error, "error_kind": "api"}
            rows.append(row)
            continue
        output = result.output or ""
        judge_in, judge_out, _ = judging.usage(output, cell.case)
        cost = cost_usd(price, result.prompt_tokens, result.completion_tokens)
        if cost is not None and (judge_in or judge_out):
            judge_cost = cost_usd(judge_price, judge_in, judge_out)
            cost = None if judge_cost is None else cost + judge_cost
        row |= {"judge_prompt_tokens": judge_in, "judge_completion_tokens": judge_out,
                "cost_usd": cost}
        try:
            scored = score_case(cell.case, output, judge=judging.verdict, checks=checks)
        except ScorerError as exc:
            row |= {"error": str(exc),
                    "error_kind": "judge" if isinstance(exc, JudgeError) else "scorer"}
        else:
            row |= {"passed": scored.passed, "score": scored.score,
                    "assertions": json.dumps([a.to_dict() for a in scored.assertions],
                                             ensure_ascii=False)}
        rows.append(row)
    return rows


def _want_judgments(plan: EvalPlan, results: dict[str, CallResult], judging: _Judging) -> None:
    """Ask the judge about every llm-rubric of every answer the model gave."""
    for cell in plan.cells:
        result = results[cell.key]
        if result.ok:
            for assertion in cell.case.asserts:
                if assertion.type == "llm-rubric":
                    judging.want(assertion.value, result.output or "", cell.case)


def _store_results(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Insert the scored rows into ``eval_results`` (through a registered Arrow table)."""
    con.complete()  # DuckDB 2 refuses to register a view while a result is unfetched
    con.register("eval_results_stage", pa.Table.from_pylist(rows, schema=_RESULT_SCHEMA))
    try:
        run(con, "evals/results_insert")
    finally:
        con.unregister("eval_results_stage")


def _used_demo_model(plan: EvalPlan, results: dict[str, CallResult], judging: _Judging,
                     comparison: dict[str, Any]) -> bool:
    """Whether any answer or any verdict came from flywheel's demo model."""
    return any(v["demo_model"] for v in comparison["versions"]) or any(
        judging.usage(r.output or "", c.case)[2] for c in plan.cells
        if (r := results[c.key]).ok)


def _run_summary(plan: EvalPlan, trigger: str, judging: _Judging, calls: PhaseStats,
                 judge_calls: PhaseStats, demo: bool, comparison: dict[str, Any]) -> dict[str, Any]:
    """What ``flywheel eval run --json`` prints (without ``seconds``, added once it is over)."""
    costs = [v["cost_usd"] for v in comparison["versions"]]
    return {
        "run_id": plan.run_id, "trigger": trigger,
        "evalset": {"path": str(plan.evalset.path), "name": plan.evalset.name,
                    "hash": plan.evalset.hash, "cases": len(plan.evalset.cases)},
        "repeats": plan.repeats, "judge_model": judging.model if judging.specs else None,
        "rubrics": sorted({a.value for c in plan.evalset.cases for a in c.asserts
                           if a.type == "llm-rubric"}),
        "demo_model": demo,
        "note": "answers came from flywheel's demo model (a rule table, not a real LLM)"
        if demo else None,
        "calls": {"total": calls.total, "cached": calls.cached,
                  "http_attempts": calls.http, "errored": calls.errored,
                  "judge": judge_calls.total,
                  "processes": sorted(calls.pids)},
        "errors": {"api": sum(v["api_errors"] for v in comparison["versions"]),
                   "scorer": sum(v["scorer_errors"] for v in comparison["versions"])},
        "cost_usd": None if any(c is None for c in costs) else round(sum(costs), 8),
        **comparison,
    }


def _run_row(plan: EvalPlan, summary: dict[str, Any], calls: PhaseStats,
             started: datetime, finished: datetime) -> dict[str, Any]:
    """The ``eval_runs`` row of a finished run."""
    versions = summary["versions"]
    return {
        "run_id": plan.run_id, "evalset_path": str(plan.evalset.path),
        "evalset_name": plan.evalset.name, "evalset_hash": plan.evalset.hash,
        "cases": len(plan.evalset.cases), "repeats": plan.repeats,
        "versions": json.dumps(plan.describe_versions()), "baseline_hash": plan.versions[0].hash,
        "judge_model": summary["judge_model"], "trigger": summary["trigger"],
        "started_at": started, "finished_at": finished, "calls_total": calls.total,
        "calls_cached": calls.cached, "calls_http": calls.http, "calls_errored": calls.errored,
        "prompt_tokens": sum(v["prompt_tokens"] + v["judge_prompt_tokens"] for v in versions),
        "completion_tokens": sum(v["completion_tokens"] + v["judge_completion_tokens"]
                                 for v in versions),
        "cost_usd": summary["cost_usd"], "demo_model": summary["demo_model"],
        "summary": json.dumps(summary, ensure_ascii=False, default=str),
    }


def run_eval(
    settings: Settings, evalset_path: str | Path, refs: Sequence[str], *, execute: Executor,
    repeats: int = 1, no_cache: bool = False, trigger: str = "manual", run_id: str | None = None,
) -> dict[str, Any]:
    """Evaluate prompt versions (the first is the baseline) on an eval set; returns the summary
    that ``flywheel eval run --json`` prints (also stored in ``eval_runs.summary``). ``run_id``:
    the run's id (default: a new one from the time and a random part)."""
    started = datetime.now(UTC)
    checks = PythonChecks(settings.project_dir)
    plan = plan_run(settings, evalset_path, refs, repeats, checks, run_id)
    results, model_calls = call_phase(settings, plan.specs, execute, "model", no_cache=no_cache)
    judging = _Judging(settings)
    _want_judgments(plan, results, judging)
    judge_calls = judging.run(execute, no_cache)
    rows = _score_rows(settings, plan, results, judging, checks)
    calls = PhaseStats()
    calls.add(model_calls)
    calls.add(judge_calls)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con, transaction(con):
        _store_results(con, rows)
        comparison = summarize(con, plan.run_id, plan.describe_versions())
        demo = _used_demo_model(plan, results, judging, comparison)
        summary = _run_summary(plan, trigger, judging, calls, judge_calls, demo, comparison)
        finished = datetime.now(UTC)
        summary["seconds"] = round((finished - started).total_seconds(), 3)
        run(con, "evals/run_insert", _run_row(plan, summary, calls, started, finished))
    return summary
