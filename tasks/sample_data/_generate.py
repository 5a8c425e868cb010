"""Writes several days of request and feedback logs (docs/contracts.md, "Log formats") with known true effects.

The world it simulates (all of it is written to ``TRUTH.json`` beside the data):

* Users make Poisson(λ_u) requests a day, λ_u ~ Gamma(2, 0.6). Each request goes to the
  ``support`` prompt (60%) or the ``summarizer`` prompt (40%).
* From the experiments' start, a user's arm is ``assign_variant(experiment, user_id, …)``;
  before it, everybody is served the production version (the pre-period CUPED uses).
* A thumbs-up has probability ``p_arm · m_u``, with a user factor m_u ~ U(0.6, 1.4) (mean 1),
  so the true relative lift of an arm's thumbs-up rate is exactly p_arm / p_control − 1.
* Ratings are round(N(μ_arm + 1.5 (m_u − 1), 0.9)) clipped to 1..5; the expected rating per arm
  is computed by simulation and written to TRUTH.json.
* Latency is log-normal around an arm's median; 1% of calls fail with an error.
* Most requests get no feedback: thumbs 25%, rating 6%, correction 4% after a thumbs-down and
  1% otherwise, comment 1%. Feedback comes minutes after its request, some on the next day.
* 0.5% of request records are shipped a day late, so their feedback arrives first.
* A few malformed lines are planted, each listed in TRUTH.json with its file and line.
* Optional production anomalies (``SampleSpec``; TRUTH.json ``anomalies``): from a given day, a
  latency regression of one prompt version (its latencies × a factor) and an input-length shift
  of one prompt (a pasted log of 7–14 lines, about 700–1,400 characters, appended to every input).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from flywheel.tasks.registry import prompt_hash, render_messages
from flywheel.tasks.sample_data import _content as content
from flywheel.tasks.sample_data._spec import SampleSpec
from flywheel.tasks.stats import assign_variant

EXAMPLE_FOLDERS = ("prompts", "experiments", "evalsets")  # package data of flywheel.sample_project
_NOT_PROJECT_FILES = ("__init__.py", "__pycache__", "*.pyc")

# Per experiment arm: prompt file, thumbs-up probability, rating mean, latency median (ms).
ARMS: dict[str, dict[str, dict[str, Any]]] = {
    "tone-test": {
        "control": {"file": "support/v1.yaml", "p_up": 0.60, "rating": 3.6, "latency": 800},
        "friendly": {"file": "support/v2-friendly.yaml", "p_up": 0.66, "rating": 3.85,
                     "latency": 860},
    },
    "summary-length": {
        "control": {"file": "summarizer/v1.yaml", "p_up": 0.62, "rating": 3.7, "latency": 650},
        "concise": {"file": "summarizer/v2-concise.yaml", "p_up": 0.62, "rating": 3.7,
                    "latency": 520},
        "detailed": {"file": "summarizer/v3-detailed.yaml", "p_up": 0.57, "rating": 3.55,
                     "latency": 1150},
    },
}
EXPERIMENT_OF_PROMPT = {"support": "tone-test", "summarizer": "summary-length"}
OFFSETS = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)),
           timezone(timedelta(hours=5, minutes=30))]
ERRORS = ["upstream timeout after 30s", "rate_limited: 429 from provider", "content_filter"]
PRICE_IN, PRICE_OUT = 0.15, 0.60  # gpt-4o-mini, USD per 1M tokens


@dataclass
class _Prompt:
    name: str
    spec: dict[str, Any]
    hash: str


def _copy_tree(source: Traversable, target: Path) -> None:
    """Copy a package-data folder (wherever the package is installed), without its Python
    package markers: the copy is a user's project folder."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if any(fnmatch.fnmatch(item.name, pattern) for pattern in _NOT_PROJECT_FILES):
            continue
        if item.is_dir():
            _copy_tree(item, target / item.name)
        else:
            (target / item.name).write_bytes(item.read_bytes())


def write_project(out: Path) -> None:
    """Copy the example project (prompts/, experiments/, evalsets/) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for folder in EXAMPLE_FOLDERS:
        _copy_tree(resources.files(f"flywheel.sample_project.{folder}"), out / folder)


def write_sample_data(out: Path, spec: SampleSpec | None = None) -> dict[str, Any]:
    """Write a complete sample project into ``out``; returns what was written (also TRUTH.json)."""
    spec = spec or SampleSpec()
    write_project(out)
    prompts = _load_prompts(out / "prompts")
    rng = np.random.default_rng(spec.seed)
    users = [f"user-{i:05d}" for i in range(spec.users)]
    activity = rng.gamma(2.0, 0.6, size=spec.users)
    taste = rng.uniform(0.6, 1.4, size=spec.users)
    exp_start = datetime.combine(spec.start, datetime.min.time(), UTC) + timedelta(
        days=spec.experiment_start_day
    )
    arms_of_user = {
        exp: [assign_variant(exp, u, list(arms), None) for u in users] for exp, arms in ARMS.items()
    }
    requests_by_day: dict[int, list[dict[str, Any]]] = {d: [] for d in range(spec.days + 1)}
    feedback_by_day: dict[int, list[dict[str, Any]]] = {d: [] for d in range(spec.days + 1)}
    counter = 0
    for day in range(spec.days):
        day_start = datetime.combine(spec.start + timedelta(days=day), datetime.min.time(), UTC)
        counts = rng.poisson(activity)
        for u_idx in np.flatnonzero(counts):
            for _ in range(int(counts[u_idx])):
                counter += 1
                ts = day_start + timedelta(seconds=float(rng.uniform(0, 86400)))
                record, fb = _one_request(
                    rng, spec, prompts, users[u_idx], float(taste[u_idx]), ts, exp_start,
                    {e: a[u_idx] for e, a in arms_of_user.items()}, counter,
                )
                late = rng.random() < 0.005
                requests_by_day[min(day + int(late), spec.days)].append(record)
                for item in fb:
                    fb_day = (datetime.fromisoformat(item["timestamp"]).astimezone(UTC).date()
                              - spec.start).days
                    if fb_day < spec.days:
                        feedback_by_day[fb_day].append(item)
    planted = _plant_malformed(requests_by_day, feedback_by_day, spec) if spec.malformed else []
    files = _write_days(out / "landing", spec, requests_by_day, feedback_by_day, planted)
    truth = _truth(spec, prompts, files, planted, rng)
    (out / "TRUTH.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n")
    return truth


def _load_prompts(folder: Path) -> dict[str, _Prompt]:
    prompts = {}
    for path in sorted(folder.rglob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        prompts[str(path.relative_to(folder))] = _Prompt(spec["name"], spec, prompt_hash(spec))
    return prompts


def _request_id(seed: int, counter: int) -> str:
    return "req_" + hashlib.sha256(f"{seed}:{counter}".encode()).hexdigest()[:20]


def _iso(ts: datetime, rng: np.random.Generator) -> str:
    local = ts.astimezone(OFFSETS[int(rng.integers(len(OFFSETS)))])
    text = local.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if rng.random() < 0.5 else text


def _one_request(
    rng: np.random.Generator, spec: SampleSpec, prompts: dict[str, _Prompt], user: str,
    taste: float, ts: datetime, exp_start: datetime, arm_of: dict[str, str], counter: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    family = "support" if rng.random() < 0.6 else "summarizer"
    experiment = EXPERIMENT_OF_PROMPT[family]
    in_experiment = ts >= exp_start
    arm = arm_of[experiment] if in_experiment else "control"
    params = ARMS[experiment][arm]
    prompt = prompts[params["file"]]
    variables, output, corrected = _content(rng, family, arm)
    day = (ts.date() - spec.start).days
    if spec.input_shift_day is not None and day >= spec.input_shift_day \
            and prompt.name == spec.input_shift_prompt:
        key = "text" if "text" in variables else "question"
        variables[key] += "\n\n" + _pasted_log(counter)
    error = ERRORS[int(rng.integers(len(ERRORS)))] if rng.random() < 0.01 else None
    messages = render_messages(prompt.spec, variables)
    prompt_chars = sum(len(m["content"]) for m in messages)
    latency = float(rng.lognormal(np.log(params["latency"]), 0.45))
    if spec.latency_regression_day is not None and day >= spec.latency_regression_day \
            and params["file"] == spec.latency_regression_prompt:
        latency *= spec.latency_regression_factor
    record: dict[str, Any] = {
        "request_id": _request_id(spec.seed, counter),
        "timestamp": _iso(ts, rng),
        "user_id": user,
        "session_id": f"sess_{hashlib.md5(f'{user}:{ts.date()}'.encode()).hexdigest()[:10]}",
    }
    if in_experiment:
        record |= {"experiment": experiment, "variant": arm}
    record |= {
        "prompt_name": prompt.name,
        "prompt_hash": prompt.hash if rng.random() < 0.7 else prompt.hash[:12],
        "model": prompt.spec["model"] + ("-2024-07-18" if rng.random() < 0.3 else ""),
        "input": variables,
    }
    if rng.random() < spec.messages_share:
        record["messages"] = messages
    prompt_tokens = int(prompt_chars / 4 + rng.integers(0, 12))
    completion_tokens = 0 if error else int(len(output) / 4 + rng.integers(0, 8))
    record |= {
        "output": None if error else output,
        "latency_ms": round(30000.0 if error and "timeout" in error else latency, 1),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
    }
    if rng.random() < 0.8:  # the rest is priced at ingest from the price table
        cost = (prompt_tokens * PRICE_IN + completion_tokens * PRICE_OUT) / 1e6
        record["cost_usd"] = round(cost, 8)
    if error:
        record["error"] = error
    record["metadata"] = {"app_version": "2.14." + str(int(rng.integers(0, 3))), "channel": "web"}
    feedback = [] if error else _feedback(rng, record, ts, params, taste, output, corrected)
    return record, feedback


def _pasted_log(counter: int) -> str:
    """What users paste once the input-length shift starts: 7–14 lines of log."""
    lines = [f"2026-11-0{1 + (counter + i) % 9}T0{i % 10}:1{i % 6}:00Z worker-{(counter * 7 + i) % 31} "
             f"ERROR request {counter}-{i} failed: upstream connect timeout after 30000 ms"
             for i in range(7 + counter % 8)]
    return "Here is the log:\n" + "\n".join(lines)


def _content(
    rng: np.random.Generator, family: str, arm: str
) -> tuple[dict[str, Any], str, str]:
    if family == "support":
        bank = content.SUPPORT_QA if rng.random() < 0.6 else content.SUPPORT_QA_UNCURATED
        question, answer, corrected = _fill_slots(rng, *bank[int(rng.integers(len(bank)))])
        if rng.random() < 0.12:
            question += content.PII_SNIPPETS[int(rng.integers(len(content.PII_SNIPPETS)))]
        variables: dict[str, Any] = {"question": question}
        order_id = content.ORDER_IDS[int(rng.integers(len(content.ORDER_IDS)))]
        if order_id:
            variables["order_id"] = order_id
        if arm == "friendly":
            answer = content.FRIENDLY_OPENERS[int(rng.integers(4))] + answer
        return variables, answer, corrected
    ticket, summary, corrected = content.TICKETS[int(rng.integers(len(content.TICKETS)))]
    if arm == "concise":
        summary = summary.split(". ")[0].rstrip(".") + "."
    elif arm == "detailed":
        summary = "- " + summary.replace(". ", ".\n- ") + "\nNext steps: reproduce, then escalate."
    return {"text": ticket}, summary, corrected


def _fill_slots(rng: np.random.Generator, *texts: str) -> tuple[str, ...]:
    """The texts with each ``{slot}`` replaced by one value drawn for all of them."""
    values = {k: v[int(rng.integers(len(v)))] for k, v in content.SLOT_VALUES.items()
              if any("{" + k + "}" in t for t in texts)}
    return tuple(t.format(**values) if values else t for t in texts)


def _feedback(
    rng: np.random.Generator, record: dict[str, Any], ts: datetime, params: dict[str, Any],
    taste: float, output: str, corrected: str,
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    base = {"request_id": record["request_id"], "user_id": record["user_id"]}

    def add(kind: str, **fields: Any) -> None:
        delay = timedelta(seconds=float(rng.exponential(600)))
        fid = "fb_" + hashlib.sha256(f"{record['request_id']}:{kind}".encode()).hexdigest()[:20]
        items.append({"feedback_id": fid, **base, "timestamp": _iso(ts + delay, rng),
                      "kind": kind, **fields})

    thumbs_down = False
    if rng.random() < 0.25:
        up = rng.random() < params["p_up"] * taste
        thumbs_down = not up
        value: Any = int(up) if rng.random() < 0.7 else ("up" if up else "down")
        add("thumbs", value=value)
    if rng.random() < 0.06:
        rating = int(np.clip(np.rint(rng.normal(params["rating"] + 1.5 * (taste - 1), 0.9)), 1, 5))
        add("rating", value=rating)
    if rng.random() < (0.04 if thumbs_down else 0.01) and corrected != output:
        add("correction", corrected_output=corrected)
    if rng.random() < 0.01:
        add("comment", comment="Not what I asked 😕" if thumbs_down else "Très utile, merci !")
    return items


def _plant_malformed(
    requests_by_day: dict[int, list[Any]], feedback_by_day: dict[int, list[Any]], spec: SampleSpec
) -> list[dict[str, Any]]:
    """Replace a few records with malformed ones; returns (day, kind, index, reason) of each."""
    day = min(1, spec.days - 1)
    good = {"request_id": "req_bad", "timestamp": "2026-11-02T10:00:00Z", "user_id": "user-x",
            "model": "gpt-4o-mini", "input": {"question": "?"}}
    plants = [
        ("requests", '{"request_id": "req_truncated", "timestamp": "2026-11-02T1', "not valid JSON"),
        ("requests", {k: v for k, v in good.items() if k != "user_id"} | {"request_id": "req_bad1"},
         "missing required field user_id"),
        ("requests", good | {"request_id": "req_bad2", "latency_ms": -12.5},
         "latency_ms: must be >= 0"),
        ("requests", good | {"request_id": "req_bad3", "timestamp": "yesterday at noon"},
         "timestamp: not an ISO 8601 date-time"),
        ("feedback", {"feedback_id": "fb_bad1", "request_id": "req_x", "kind": "rating",
                      "value": 7, "timestamp": "2026-11-02T10:00:00Z"},
         "value: rating must be from 1 to 5"),
        ("feedback", {"feedback_id": "fb_bad2", "request_id": "req_x", "kind": "emoji",
                      "value": "🎉", "timestamp": "2026-11-02T10:00:00Z"},
         "kind: unknown feedback kind"),
        ("feedback", {"feedback_id": "fb_bad3", "request_id": "req_x", "kind": "correction",
                      "timestamp": "2026-11-02T10:00:00Z"}, "correction without corrected_output"),
    ]
    planted = []
    for i, (kind, record, reason) in enumerate(plants):
        target = requests_by_day[day] if kind == "requests" else feedback_by_day[day]
        position = min(len(target), 5 + 7 * i)
        target.insert(position, record)
        planted.append({"day": day, "kind": kind, "reason": reason, "record": record})
    return planted


def _write_days(
    landing: Path, spec: SampleSpec, requests_by_day: dict[int, list[Any]],
    feedback_by_day: dict[int, list[Any]], planted: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    files = []
    for day in range(spec.days + 1):
        stamp = (spec.start + timedelta(days=day)).isoformat()
        for kind, by_day in (("requests", requests_by_day), ("feedback", feedback_by_day)):
            records = by_day[day]
            if not records:
                continue
            path = landing / stamp / f"{kind}-{stamp}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            for plant in planted:
                if plant["day"] == day and plant["kind"] == kind:
                    plant["file"] = str(path.relative_to(landing.parent))
                    plant["line"] = records.index(plant["record"]) + 1
            files.append({"path": str(path.relative_to(landing.parent)), "records": len(records)})
    return files


def _anomalies(spec: SampleSpec, prompts: dict[str, _Prompt]) -> list[dict[str, Any]]:
    """The planted production anomalies: what, from which day, on which prompt version(s)."""
    planted = []
    if spec.latency_regression_day is not None:
        prompt = prompts[spec.latency_regression_prompt]
        planted.append({
            "kind": "latency_regression",
            "start": str(spec.start + timedelta(days=spec.latency_regression_day)),
            "prompt_name": prompt.name, "prompt_hashes": [prompt.hash],
            "factor": spec.latency_regression_factor,
        })
    if spec.input_shift_day is not None:
        planted.append({
            "kind": "input_length_shift",
            "start": str(spec.start + timedelta(days=spec.input_shift_day)),
            "prompt_name": spec.input_shift_prompt,
            "prompt_hashes": sorted(p.hash for p in prompts.values()
                                    if p.name == spec.input_shift_prompt),
            "added": "a pasted log of 7-14 lines (about 700-1,400 characters) after the input text",
        })
    return planted


def _expected_rating(mu: float, rng: np.random.Generator, draws: int = 400_000) -> float:
    taste = rng.uniform(0.6, 1.4, size=draws)
    return float(np.clip(np.rint(rng.normal(mu + 1.5 * (taste - 1), 0.9)), 1, 5).mean())


def _truth(
    spec: SampleSpec, prompts: dict[str, _Prompt], files: list[dict[str, Any]],
    planted: list[dict[str, Any]], rng: np.random.Generator,
) -> dict[str, Any]:
    truth_rng = np.random.default_rng(spec.seed + 1)
    experiments = {}
    for exp, arms in ARMS.items():
        control = arms["control"]
        control_rating = _expected_rating(control["rating"], truth_rng)
        experiments[exp] = {
            arm: {
                "prompt_hash": prompts[a["file"]].hash,
                "thumbs_up_rate": a["p_up"],
                "thumbs_up_relative_lift": round(a["p_up"] / control["p_up"] - 1, 6),
                "expected_rating": round(_expected_rating(a["rating"], truth_rng), 4),
                "rating_relative_lift": round(
                    _expected_rating(a["rating"], truth_rng) / control_rating - 1, 4),
                "latency_median_ms": a["latency"],
            }
            for arm, a in arms.items()
        }
    return {
        "spec": {k: str(v) if isinstance(v, date) else v for k, v in asdict(spec).items()},
        "anomalies": _anomalies(spec, prompts),
        "experiments_start": str(spec.start + timedelta(days=spec.experiment_start_day)),
        "experiments": experiments,
        "files": files,
        "malformed_lines": [
            {"file": p["file"], "line": p["line"], "reason": p["reason"]} for p in planted
        ],
    }
