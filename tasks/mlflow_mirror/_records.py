"""What the mirror writes to MLflow, as plain data built from flywheel's own rows.

Nothing here imports MLflow: a :class:`RunRecord` is the whole content of one MLflow run (its
identity tag, params, metrics, tags, artifacts, child runs) and a :class:`PromptRecord` one
prompt version. :mod:`flywheel.tasks.mlflow_mirror._target` turns them into MLflow calls.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flywheel.tasks.registry import SHORT_HASH_LEN, canonical_json

KEY_TAG = "flywheel.key"  # the identity of a mirrored run: found by it, never duplicated
FINGERPRINT_TAG = "flywheel.fingerprint"  # the flywheel state the run was last synced from
HASH_TAG = "flywheel.hash"  # on MLflow prompt versions: the flywheel version hash
MAX_PARAM_CHARS = 6000  # MLflow's limit for a param value
MAX_TAG_CHARS = 8000  # and for a tag value
_UNSAFE_KEY = re.compile(r"[^\w./\- ]")


@dataclass
class RunRecord:
    """One MLflow run: found by ``key`` (tag ``flywheel.key``) in ``experiment``."""

    key: str
    experiment: str
    name: str
    fingerprint: str
    start_ms: int
    end_ms: int
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)  # relative path -> content
    children: list[RunRecord] = field(default_factory=list)
    prompts: list[tuple[str, str]] = field(default_factory=list)  # (name, hash) it evaluated


@dataclass(frozen=True)
class PromptRecord:
    """One flywheel prompt version, as an MLflow prompt version."""

    name: str
    hash: str
    messages: list[dict[str, str]]
    model_config: dict[str, Any]
    description: str
    tags: dict[str, str]


def millis(moment: datetime) -> int:
    """Milliseconds since the epoch (MLflow's time unit); a naive time is read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def safe_key(key: str) -> str:
    """A param/metric/tag key MLflow accepts (letters, digits, ``_ - . / space``)."""
    return _UNSAFE_KEY.sub("_", key)


def param_value(value: Any) -> str:
    """A param value: text as is, other values as canonical JSON, cut at MLflow's limit (the
    full value is always in an artifact too)."""
    text = value if isinstance(value, str) else canonical_json(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 1] + "…"


def tag_value(value: Any) -> str:
    """A tag value, cut at MLflow's limit."""
    text = value if isinstance(value, str) else canonical_json(value)
    return text if len(text) <= MAX_TAG_CHARS else text[: MAX_TAG_CHARS - 1] + "…"


def _metrics(pairs: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers of ``pairs`` as metrics (None, NaN and infinities are left out)."""
    out: dict[str, float] = {}
    for key, value in pairs.items():
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, int | float) and math.isfinite(value):
            out[safe_key(key)] = float(value)
    return out


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
            + "\n").encode("utf-8")


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# ----------------------------------------------------------------------------- prompts


def prompt_messages(content: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chat template MLflow stores: the system message, the few-shot messages, then the
    user template (Jinja2, as written: MLflow renders ``{% %}`` templates with Jinja2 too)."""
    messages = []
    if content.get("system"):
        messages.append({"role": "system", "content": str(content["system"])})
    messages += [{"role": str(m["role"]), "content": str(m["content"])}
                 for m in content.get("few_shot") or []]
    messages.append({"role": "user", "content": str(content.get("template", ""))})
    return messages


_MODEL_CONFIG_FIELDS = {"temperature": "temperature", "max_tokens": "max_tokens",
                        "top_p": "top_p", "presence_penalty": "presence_penalty",
                        "frequency_penalty": "frequency_penalty"}


def model_config(content: Mapping[str, Any]) -> dict[str, Any]:
    """MLflow's model config of a prompt version: the model and its sampling params; params
    MLflow has no field for (seed, response_format …) go to ``extra_params``."""
    params = dict(content.get("params") or {})
    config: dict[str, Any] = {"model_name": content.get("model")}
    for key, target in _MODEL_CONFIG_FIELDS.items():
        if key in params:
            config[target] = params.pop(key)
    if "stop" in params:
        stop = params.pop("stop")
        config["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if params:
        config["extra_params"] = params
    return {k: v for k, v in config.items() if v is not None}


def prompt_record(row: Mapping[str, Any]) -> PromptRecord:
    """A registered (name, version) of flywheel as an MLflow prompt version."""
    content = _loads(row["content"])
    metadata = _loads(row.get("metadata")) or {}
    short = row["hash"][:SHORT_HASH_LEN]
    tags = {HASH_TAG: row["hash"], "flywheel.short_hash": short}
    if row.get("source_file"):
        tags["flywheel.source_file"] = tag_value(str(row["source_file"]))
    for key in ("author",):
        if metadata.get(key):
            tags[f"flywheel.{key}"] = tag_value(str(metadata[key]))
    description = str(metadata.get("description") or f"flywheel version {short}")
    return PromptRecord(name=row["name"], hash=row["hash"], messages=prompt_messages(content),
                        model_config=model_config(content), description=description, tags=tags)


def alias_problem(label: str) -> str | None:
    """Why MLflow would refuse ``label`` as a prompt alias (None: it is accepted)."""
    if not re.fullmatch(r"[\w\-]+", label):
        return "MLflow aliases take only letters, digits, '_' and '-'"
    if label.lower() == "latest" or re.fullmatch(r"[vV]\d+", label):
        return "MLflow reserves 'latest' and 'v<number>' as aliases"
    if len(label) > 255:
        return "longer than MLflow's 255 characters"
    return None


# ------------------------------------------------------------------------------- evals


def _role(index: int) -> str:
    return "baseline" if index == 0 else "candidate"


def _version_params(version: Mapping[str, Any], content: Mapping[str, Any],
                    common: Mapping[str, str]) -> dict[str, str]:
    params = {"prompt_name": str(version["name"]), "prompt_ref": str(version["ref"]),
              "prompt_hash": str(version["hash"]), "model": str(content.get("model") or "")}
    for key, value in (content.get("params") or {}).items():
        params[safe_key(key)] = param_value(value)
    return {**params, **common}


def _version_metrics(stats: Mapping[str, Any], latency: Mapping[str, Any]) -> dict[str, float]:
    pass_ci = stats.get("pass_rate_ci") or [None, None]
    score_ci = stats.get("mean_score_ci") or [None, None]
    tokens = [stats.get(k) or 0 for k in ("prompt_tokens", "completion_tokens",
                                           "judge_prompt_tokens", "judge_completion_tokens")]
    return _metrics({
        "pass_rate": stats.get("pass_rate"), "pass_rate_ci_low": pass_ci[0],
        "pass_rate_ci_high": pass_ci[1], "mean_score": stats.get("mean_score"),
        "mean_score_ci_low": score_ci[0], "mean_score_ci_high": score_ci[1],
        "consistency": stats.get("consistency"), "cases": stats.get("cases"),
        "cases_scored": stats.get("cases_scored"), "cases_errored": stats.get("cases_errored"),
        "errors": (stats.get("api_errors") or 0) + (stats.get("scorer_errors") or 0),
        "api_errors": stats.get("api_errors"), "scorer_errors": stats.get("scorer_errors"),
        "cost_usd": stats.get("cost_usd"), "prompt_tokens": stats.get("prompt_tokens"),
        "completion_tokens": stats.get("completion_tokens"),
        "judge_prompt_tokens": stats.get("judge_prompt_tokens"),
        "judge_completion_tokens": stats.get("judge_completion_tokens"),
        "total_tokens": sum(tokens),
        "latency_p50_ms": latency.get("latency_p50_ms"),
        "latency_p95_ms": latency.get("latency_p95_ms"),
    })


def _comparison_metrics(comparison: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    pass_ci = comparison.get("pass_rate_diff_ci") or [None, None]
    score_ci = comparison.get("mean_score_diff_ci") or [None, None]
    mcnemar = comparison.get("mcnemar") or {}
    return {f"{prefix}{k}": v for k, v in {
        "pass_rate_diff": comparison.get("pass_rate_diff"), "pass_rate_diff_ci_low": pass_ci[0],
        "pass_rate_diff_ci_high": pass_ci[1], "mean_score_diff": comparison.get("mean_score_diff"),
        "mean_score_diff_ci_low": score_ci[0], "mean_score_diff_ci_high": score_ci[1],
        "regressions": mcnemar.get("regressions"), "improvements": mcnemar.get("improvements"),
        "mcnemar_p_value": mcnemar.get("p_value"), "paired_cases": comparison.get("paired_cases"),
    }.items()}


@dataclass(frozen=True)
class _EvalRun:
    """What the parent run of an offline eval and its children share."""

    item: Mapping[str, Any]
    versions: list[dict[str, Any]]
    shorts: list[str]  # the versions' short hashes
    experiment: str
    start_ms: int
    end_ms: int
    common: dict[str, str]  # params of every run
    tags: dict[str, str]  # tags of every run

    @classmethod
    def of(cls, item: Mapping[str, Any], prefix: str) -> _EvalRun:
        """Read from a row of ``fw_mlflow_eval_items()``."""
        versions = _loads(item["versions"])
        run_date = item["started_at"].astimezone(UTC).date().isoformat()
        common = {"evalset_name": str(item["evalset_name"]),
                  "evalset_hash": str(item["evalset_hash"]),
                  "repeats": str(item["repeats"]), "judge_model": item.get("judge_model") or "none"}
        tags = {"flywheel.kind": "eval", "flywheel.run_id": str(item["run_id"]),
                "flywheel.run_date": run_date, "flywheel.trigger": str(item["trigger"]),
                "flywheel.eval_key": str(item["item_key"]),
                "flywheel.demo_model": str(bool(item["demo_model"])).lower()}
        return cls(item=item, versions=versions,
                   shorts=[v["hash"][:SHORT_HASH_LEN] for v in versions],
                   experiment=prefix + versions[0]["name"], start_ms=millis(item["started_at"]),
                   end_ms=millis(item["finished_at"]), common=common, tags=tags)

    def note(self) -> str:
        """The parent run's description."""
        item = self.item
        return (f"flywheel offline eval on {item['evalset_name']} "
                f"({item['cases']} cases × {item['repeats']}): "
                + " vs ".join(f"{v['ref']} ({s})"
                              for v, s in zip(self.versions, self.shorts, strict=True))
                + (". Answers came from flywheel's demo model, not a real LLM."
                   if item["demo_model"] else "."))

    def run(self, key: str, name: str, **fields: Any) -> RunRecord:
        """A run of this eval: identity, timing and fingerprint shared, the rest in ``fields``."""
        return RunRecord(key=key, experiment=self.experiment, name=name,
                         fingerprint=str(self.item["fingerprint"]), start_ms=self.start_ms,
                         end_ms=self.end_ms, **fields)


def _eval_parent_metrics(item: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, float]:
    """The comparisons (prefixed by the candidate's short hash when there are several) and the
    run's calls, errors, tokens and cost."""
    comparisons = summary.get("comparisons", [])
    comparison_metrics: dict[str, Any] = {}
    for comparison in comparisons:
        lead = "" if len(comparisons) == 1 else f"{comparison['candidate_hash'][:SHORT_HASH_LEN]}."
        comparison_metrics |= _comparison_metrics(comparison, lead)
    calls = summary.get("calls") or {}
    errors = summary.get("errors") or {}
    return _metrics({**comparison_metrics, "cost_usd": item.get("cost_usd"),
                     "calls_total": item.get("calls_total"),
                     "calls_cached": item.get("calls_cached"),
                     "calls_errored": item.get("calls_errored"),
                     "api_errors": errors.get("api"), "scorer_errors": errors.get("scorer"),
                     "judge_calls": calls.get("judge"),
                     "prompt_tokens": item.get("prompt_tokens"),
                     "completion_tokens": item.get("completion_tokens")})


def _eval_version_run(
    ev: _EvalRun, index: int, content: Mapping[str, Any], stats: Mapping[str, Any],
    latency: Mapping[str, Any], results_csv: bytes,
) -> RunRecord:
    """The child run of the ``index``-th version (0: the baseline)."""
    version = ev.versions[index]
    return ev.run(
        key=f"eval/{ev.item['item_key']}/{version['hash']}",
        name=f"{_role(index)} {version['ref']} ({ev.shorts[index]})",
        params=_version_params(version, content, ev.common),
        metrics=_version_metrics(stats, latency),
        tags={**ev.tags, "flywheel.kind": "eval-version", "flywheel.role": _role(index),
              "flywheel.prompt_hash": version["hash"]},
        artifacts={"prompt/content.json": canonical_json(content).encode("utf-8"),
                   "prompt/messages.json": _json_bytes(prompt_messages(content)),
                   "results.csv": results_csv},
        prompts=[(version["name"], version["hash"])],
    )


def eval_record(item: Mapping[str, Any], contents: Mapping[str, Mapping[str, Any]],
                latency: Mapping[str, Mapping[str, Any]], results_csv: Mapping[str, bytes],
                prefix: str) -> RunRecord:
    """One offline eval as a parent run (the comparison) with a child run per prompt version
    (the first is the baseline, production in the nightly step).

    ``item`` is a row of ``fw_mlflow_eval_items()``; ``contents`` maps a version hash to its
    canonical content, ``latency`` to its latency quantiles, ``results_csv`` to its per-case
    results as CSV (key ``""``: every version's).
    """
    ev = _EvalRun.of(item, prefix)
    versions = ev.versions
    summary = _loads(item["summary"])
    stats_of = {v["hash"]: v for v in summary.get("versions", [])}
    parent = ev.run(
        key=f"eval/{item['item_key']}",
        name=f"eval {item['evalset_name']}: " + " vs ".join(ev.shorts),
        params={**ev.common, "evalset_cases": str(item["cases"]),
                "baseline_hash": versions[0]["hash"],
                "candidate_hash": ",".join(v["hash"] for v in versions[1:]) or "none"},
        metrics=_eval_parent_metrics(item, summary),
        tags={**ev.tags, "mlflow.note.content": tag_value(ev.note())},
        artifacts={"comparison.json": _json_bytes(summary), "results.csv": results_csv.get("", b"")},
        prompts=[(v["name"], v["hash"]) for v in versions],
    )
    for index, version in enumerate(versions):
        digest = version["hash"]
        parent.children.append(_eval_version_run(
            ev, index, contents.get(digest, {}), stats_of.get(digest, {}),
            latency.get(digest, {}), results_csv.get(digest, b"")))
    return parent


# --------------------------------------------------------------------------------- A/B


def _ab_metrics(item: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, float]:
    """The integrity checks, the sample, each arm's counts, and each metric's means and lift."""
    checks = report.get("checks") or {}
    sample = report.get("sample") or {}
    metrics: dict[str, Any] = {
        "srm_p_value": checks.get("srm_p_value"),
        "assignment_mismatch_share": checks.get("assignment_mismatch_share"),
        "multi_arm_users": checks.get("multi_arm_users"),
        "trustworthy": bool(report.get("trustworthy")),
        "failed_checks": len(checks.get("failed") or []),
        "sample_needed": sample.get("needed"), "days_remaining": sample.get("days_remaining"),
        "users": item.get("users"), "requests": item.get("requests"),
    }
    for arm in report.get("arms", []):
        variant = arm["variant"]
        metrics |= {f"users.{variant}": arm.get("users"), f"requests.{variant}": arm.get("requests"),
                    f"observed_share.{variant}": arm.get("observed_share")}
    for row in report.get("metrics", []):
        metric, variant = row["metric"], row["variant"]
        metrics |= {f"{metric}.{row['control']}": row.get("control_mean"),
                    f"{metric}.{variant}": row.get("treatment_mean"),
                    f"{metric}.{variant}.lift": row.get("estimate"),
                    f"{metric}.{variant}.ci_low": row.get("ci_low"),
                    f"{metric}.{variant}.ci_high": row.get("ci_high"),
                    f"{metric}.{variant}.p_value": row.get("p_value"),
                    f"{metric}.{variant}.p_value_adjusted": row.get("p_value_adjusted"),
                    f"{metric}.{variant}.chance_to_win": row.get("chance_to_win")}
    return _metrics(metrics)


def _ab_tags(report: Mapping[str, Any], name: str, run_date: str) -> dict[str, str]:
    """Status, trust, failed checks, winner, each guardrail's status, and the run's note."""
    failed = (report.get("checks") or {}).get("failed") or []
    tags = {"flywheel.kind": "ab", "flywheel.run_date": run_date, "flywheel.ab_experiment": name,
            "flywheel.ab_status": str(report.get("status")),
            "flywheel.trustworthy": str(bool(report.get("trustworthy"))).lower(),
            "flywheel.failed_checks": ",".join(failed) or "none",
            "flywheel.winner": str(report.get("winner") or "none")}
    for guard in report.get("guardrails", []):
        tags[safe_key(f"guardrail.{guard['metric']}.{guard['variant']}")] = str(guard["status"])
    note = (f"flywheel A/B analysis of {name} as of the end of {run_date}: {report.get('status')}"
            + (f", winner {report['winner']}" if report.get("winner") else "")
            + ("" if report.get("trustworthy") else
               f"; integrity checks failed: {', '.join(failed)}") + ".")
    return {**tags, "mlflow.note.content": tag_value(note)}


def _ab_params(report: Mapping[str, Any], name: str) -> dict[str, str]:
    """The experiment's design: arms, weights, primary metric, alpha, MDE, dates."""
    variants = {arm["variant"]: arm.get("prompt") for arm in report.get("arms", [])}
    return {"ab_experiment": name, "primary_metric": str(report.get("primary_metric")),
            "control": str(report.get("control")), "variants": param_value(variants),
            "weights": param_value({a["variant"]: a.get("weight")
                                    for a in report.get("arms", [])}),
            "alpha": str(report.get("alpha")), "mde": str(report.get("mde")),
            "multiple_testing": str(report.get("multiple_testing")),
            "sequential": param_value(report.get("sequential")),
            "start": str(report.get("start")), "end": str(report.get("end") or "none")}


def ab_record(item: Mapping[str, Any], prompt_name: str | None, results_csv: bytes,
              prefix: str) -> RunRecord:
    """One night's analysis of one A/B experiment: per-variant metrics, the lift of each
    treatment with its interval and p-values, and the integrity checks.

    ``item`` is a row of ``fw_mlflow_ab_items()``; the run goes to the experiment of the prompt
    the control arm serves (``prompt_name``), else to one named after the A/B experiment.
    """
    report = _loads(item["report"])
    run_date = str(item["run_date"])
    name = str(item["experiment"])
    moment = millis(item["computed_at"])
    return RunRecord(
        key=f"ab/{name}/{run_date}", experiment=prefix + (prompt_name or name),
        name=f"ab {name} {run_date}", fingerprint=str(item["fingerprint"]),
        start_ms=moment, end_ms=moment,
        params=_ab_params(report, name),
        metrics=_ab_metrics(item, report),
        tags=_ab_tags(report, name, run_date),
        artifacts={"ab_report.json": _json_bytes(report), "ab_results.csv": results_csv},
    )


def prompt_name_of_ref(ref: str | None) -> str | None:
    """The prompt name a REF spells out (``NAME@LABEL``, ``NAME:HASH``); None for a bare hash."""
    if not ref:
        return None
    for separator in ("@", ":"):
        if separator in ref:
            return ref.split(separator, 1)[0] or None
    return None


def control_ref(report: Mapping[str, Any]) -> str | None:
    """The REF of an A/B report's control arm."""
    for arm in report.get("arms", []):
        if arm["variant"] == report.get("control"):
            return arm.get("prompt")
    return None


def describe_error(exc: BaseException, secrets: Sequence[str] = ()) -> str:
    """One line naming the error, without any of ``secrets``."""
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:500]
