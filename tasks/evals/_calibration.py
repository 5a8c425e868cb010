"""Judges checked against people: agreement of an ``llm-rubric`` judge's pass/fail verdicts with
human verdicts on the same outputs, and the judge-measured pass rate corrected for the judge's
errors. Formulas: docs/evals.md, "Judge calibration".

- Cohen's κ = (p_o − p_e) / (1 − p_e) with its large-sample standard error (Fleiss, Cohen &
  Everitt 1969) and a normal interval;
- the confusion matrix (human verdict × judge verdict), the judge's TPR (pass given a human
  pass) and TNR (fail given a human fail) with Wilson intervals;
- the Rogan–Gladen prevalence-corrected pass rate π̂ = (p̂ + TNR − 1) / (TPR + TNR − 1), with a
  delta-method interval that carries the uncertainty of p̂, TPR and TNR.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from scipy import special

from flywheel.tasks.db import fetch_dicts, run, transaction
from flywheel.tasks.errors import UsageError
from flywheel.tasks.evals._evalset import load_evalset
from flywheel.tasks.evals._scorers import PythonChecks
from flywheel.tasks.evals._stats import wilson_interval


@dataclass(frozen=True)
class Confusion:
    """Counts of (human verdict, judge verdict) pairs; "pass" is the positive class."""

    both_pass: int  # true positives
    judge_fail_human_pass: int  # false negatives
    judge_pass_human_fail: int  # false positives
    both_fail: int  # true negatives

    @classmethod
    def of(cls, pairs: Iterable[tuple[bool, bool]]) -> Confusion:
        """From ``(human_pass, judge_pass)`` pairs."""
        tp = fn = fp = tn = 0
        for human, judge in pairs:
            if human and judge:
                tp += 1
            elif human:
                fn += 1
            elif judge:
                fp += 1
            else:
                tn += 1
        return cls(tp, fn, fp, tn)

    @property
    def n(self) -> int:
        """Labelled outputs."""
        return self.both_pass + self.judge_fail_human_pass + self.judge_pass_human_fail + \
            self.both_fail


def _z(confidence: float) -> float:
    return float(special.ndtri(0.5 + confidence / 2))


def cohens_kappa(c: Confusion, confidence: float = 0.95) -> tuple[float, float, float]:
    """Cohen's κ of a 2×2 table and its normal interval from the large-sample standard error
    (``nan`` when undefined: no labels, or both raters constant and equal)."""
    n = c.n
    if n == 0:
        return (math.nan, math.nan, math.nan)
    table = [[c.both_pass / n, c.judge_fail_human_pass / n],
             [c.judge_pass_human_fail / n, c.both_fail / n]]
    rows = [sum(r) for r in table]  # human margins
    cols = [table[0][j] + table[1][j] for j in range(2)]  # judge margins
    p_o = table[0][0] + table[1][1]
    p_e = rows[0] * cols[0] + rows[1] * cols[1]
    if p_e >= 1:
        return (math.nan, math.nan, math.nan)
    kappa = (p_o - p_e) / (1 - p_e)
    # Fleiss, Cohen & Everitt (1969): the variance of kappa-hat under the alternative.
    diag = sum(table[i][i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(2))
    off = (1 - kappa) ** 2 * sum(table[i][j] * (cols[i] + rows[j]) ** 2
                                 for i in range(2) for j in range(2) if i != j)
    last = (kappa - p_e * (1 - kappa)) ** 2
    variance = max(0.0, diag + off - last) / (n * (1 - p_e) ** 2)
    half = _z(confidence) * math.sqrt(variance)
    return (kappa, kappa - half, kappa + half)


def rogan_gladen(observed: int, n: int, tpr: float, tnr: float, tpr_n: int, tnr_n: int,
                 confidence: float = 0.95) -> tuple[float, float, float]:
    """The true pass rate from a judge-measured one: π̂ = (p̂ + TNR − 1) / (TPR + TNR − 1),
    clipped to [0, 1], and its delta-method interval (p̂ from ``n`` judged outputs, TPR and TNR
    from ``tpr_n`` human passes and ``tnr_n`` human fails). ``nan`` when the judge is no better
    than chance (Youden's J = TPR + TNR − 1 ≤ 0) or a count is zero."""
    youden = tpr + tnr - 1
    if n == 0 or tpr_n == 0 or tnr_n == 0 or youden <= 0:
        return (math.nan, math.nan, math.nan)
    p = observed / n
    raw = (p + tnr - 1) / youden
    pi = min(1.0, max(0.0, raw))
    variance = (p * (1 - p) / n + pi ** 2 * tpr * (1 - tpr) / tpr_n
                + (1 - pi) ** 2 * tnr * (1 - tnr) / tnr_n) / youden ** 2
    half = _z(confidence) * math.sqrt(variance)
    return (pi, max(0.0, raw - half), min(1.0, raw + half))


@dataclass(frozen=True)
class Agreement:
    """How well one judge rubric agrees with people on the same outputs."""

    rubric: str
    n: int
    confusion: Confusion
    kappa: float
    kappa_ci: tuple[float, float]
    tpr: float
    tpr_ci: tuple[float, float]
    tnr: float
    tnr_ci: tuple[float, float]
    human_pass_rate: float
    judge_pass_rate: float
    corrected_pass_rate: float  # Rogan–Gladen, from the judge's own verdicts on these outputs
    corrected_pass_rate_ci: tuple[float, float]
    min_kappa: float

    @property
    def calibrated(self) -> bool:
        """Whether κ reaches the threshold (an undefined κ does not)."""
        return not math.isnan(self.kappa) and self.kappa >= self.min_kappa

    def to_dict(self) -> dict[str, Any]:
        """JSON form (NaN as null)."""
        out = asdict(self)
        out["calibrated"] = self.calibrated
        return _clean(out)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _rate(k: int, n: int) -> float:
    return k / n if n else math.nan


def agreement(rubric: str, pairs: Iterable[tuple[bool, bool]], *, min_kappa: float,
              confidence: float = 0.95) -> Agreement:
    """The agreement of one rubric's judge verdicts with human verdicts (``(human, judge)``)."""
    c = Confusion.of(pairs)
    kappa, k_low, k_high = cohens_kappa(c, confidence)
    positives = c.both_pass + c.judge_fail_human_pass
    negatives = c.judge_pass_human_fail + c.both_fail
    tpr, tnr = _rate(c.both_pass, positives), _rate(c.both_fail, negatives)
    judge_passes = c.both_pass + c.judge_pass_human_fail
    corrected = rogan_gladen(judge_passes, c.n, tpr, tnr, positives, negatives, confidence) \
        if positives and negatives else (math.nan, math.nan, math.nan)
    return Agreement(
        rubric=rubric, n=c.n, confusion=c, kappa=kappa, kappa_ci=(k_low, k_high),
        tpr=tpr, tpr_ci=wilson_interval(c.both_pass, positives, confidence),
        tnr=tnr, tnr_ci=wilson_interval(c.both_fail, negatives, confidence),
        human_pass_rate=_rate(positives, c.n), judge_pass_rate=_rate(judge_passes, c.n),
        corrected_pass_rate=corrected[0], corrected_pass_rate_ci=(corrected[1], corrected[2]),
        min_kappa=min_kappa,
    )


# ------------------------------------------------------------------ labels and the store


@dataclass(frozen=True)
class LabelledVerdict:
    """One output with a human verdict and the judge's, for one rubric."""

    case_id: str
    rubric: str
    human: bool
    judge: bool


_TRUE_WORDS = {"pass", "yes", "true", "good", "up", "1"}
_FALSE_WORDS = {"fail", "no", "false", "bad", "down", "0"}


def verdict_of(value: Any, where: str) -> bool:
    """A pass/fail verdict from a label: a bool, 0/1, or pass/fail, yes/no, up/down, good/bad."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise UsageError(f"{where}: a verdict must be true/false, 0/1, pass/fail or yes/no, "
                     f"got {value!r}")


def _judge_from_store(con: duckdb.DuckDBPyConnection, case_id: str, output: str,
                      rubric: str | None, checks: PythonChecks, where: str,
                      ) -> tuple[list[tuple[str, bool]], str | None]:
    """The judge's (rubric, pass) verdicts on this output from the newest eval result, and the
    judge model; empty when no eval scored this output with an llm-rubric."""
    rows = fetch_dicts(con, "evals/judge_verdicts", {"case_id": case_id, "output": output})
    if not rows:
        return [], None
    row = rows[0]
    try:
        evalset = load_evalset(row["evalset_path"], python_resolver=checks)
    except (UsageError, OSError) as exc:
        raise UsageError(f"{where}: the eval set of run {row['run_id']} cannot be read to name "
                         f"the rubric ({exc})") from None
    case = next((c for c in evalset.cases if c.id == case_id), None)
    results = json.loads(row["assertions"])
    if case is None or len(results) != len(case.asserts):
        return [], None
    found = [(a.value, bool(r["passed"])) for a, r in zip(case.asserts, results, strict=True)
             if a.type == "llm-rubric" and (rubric is None or a.value == rubric)]
    return found, row["judge_model"]


def read_labels(con: duckdb.DuckDBPyConnection, path: Path, checks: PythonChecks
                ) -> tuple[list[LabelledVerdict], list[str], set[str]]:
    """The labelled verdicts of a labels file (JSON Lines: ``case_id``, ``output``, ``human``,
    optional ``rubric`` and ``judge``; without ``judge`` the judge's verdict is looked up in the
    eval results), the lines left out (with why) and the judge models seen in the store."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read labels file {path}: {exc}") from None
    verdicts, skipped, models = [], [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("case_id"), str) \
                or not isinstance(record.get("output"), str) or "human" not in record:
            raise UsageError(f"{where}: a label needs case_id and output (strings) and human")
        human = verdict_of(record["human"], f"{where}: key 'human'")
        rubric = record.get("rubric")
        if rubric is not None and not isinstance(rubric, str):
            raise UsageError(f"{where}: key 'rubric' must be a string")
        if "judge" in record:
            verdicts.append(LabelledVerdict(record["case_id"], rubric or "*", human,
                                            verdict_of(record["judge"], f"{where}: key 'judge'")))
            continue
        found, model = _judge_from_store(con, record["case_id"], record["output"], rubric,
                                         checks, where)
        if not found:
            skipped.append(f"{where}: no llm-rubric verdict of the judge on this output "
                           f"(case {record['case_id']})")
        models |= {model} if model else set()
        verdicts += [LabelledVerdict(record["case_id"], r, human, j) for r, j in found]
    return verdicts, skipped, models


def calibrate(con: duckdb.DuckDBPyConnection, path: Path, *, judge_model: str, min_kappa: float,
              checks: PythonChecks) -> dict[str, Any]:
    """Agreement per rubric (and pooled, with several) of the labels file, stored in
    ``judge_calibrations``; returns what ``flywheel eval calibrate --json`` prints."""
    verdicts, skipped, models = read_labels(con, path, checks)
    if len(models) > 1:
        raise UsageError(f"{path}: the labelled outputs were judged by several judge models "
                         f"({', '.join(sorted(models))}): calibrate one judge at a time")
    model = next(iter(models), judge_model)
    rubrics = sorted({v.rubric for v in verdicts})
    groups = [(r, [v for v in verdicts if v.rubric == r]) for r in rubrics]
    if len(rubrics) > 1:
        groups.append(("*", verdicts))
    rows = [agreement(r, [(v.human, v.judge) for v in vs], min_kappa=min_kappa).to_dict()
            for r, vs in groups]
    calibration_id = f"cal-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    now = datetime.now(UTC)
    with transaction(con):
        for row in rows:
            run(con, "evals/calibration_insert", {
                "calibration_id": calibration_id, "judge_model": model, "rubric": row["rubric"],
                "labels_path": str(path), "labels_hash": digest, "n": row["n"],
                "kappa": row["kappa"], "tpr": row["tpr"], "tnr": row["tnr"],
                "min_kappa": min_kappa, "calibrated": row["calibrated"],
                "agreement": json.dumps(row), "created_at": now})
    return {"calibration_id": calibration_id, "judge_model": model, "labels": str(path),
            "labels_hash": digest, "min_kappa": min_kappa, "labelled": len(verdicts),
            "skipped": skipped, "rubrics": rows}


def judge_checks(con: duckdb.DuckDBPyConnection, judge_model: str | None,
                 rubrics: Iterable[str], min_kappa: float) -> list[JudgeCheck]:
    """The latest calibration of each rubric (a rubric with none uses the pooled ``*`` row) of
    ``judge_model``; rubrics never calibrated are left out (nothing measured, nothing held)."""
    if judge_model is None:
        return []
    latest = {r["rubric"]: r for r in fetch_dicts(con, "evals/calibration_latest",
                                                  {"judge_model": judge_model})}
    out = []
    for rubric in sorted(set(rubrics)):
        row = latest.get(rubric) or latest.get("*")
        if row is not None:
            kappa = row["kappa"]
            out.append(JudgeCheck(rubric, None if kappa is None else float(kappa), min_kappa,
                                  int(row["n"])))
    return out


@dataclass(frozen=True)
class JudgeCheck:
    """The latest calibration of one rubric of the judge, as a decision reads it."""

    rubric: str
    kappa: float | None
    min_kappa: float
    n: int

    @property
    def calibrated(self) -> bool:
        """Whether κ is known and reaches the threshold."""
        return self.kappa is not None and self.kappa >= self.min_kappa


def _cell(value: float | None, fmt: str = ".3f") -> str:
    return "n/a" if value is None else format(value, fmt)


def agreement_markdown(result: Mapping[str, Any]) -> str:
    """The agreement table (Markdown; rubric texts escaped)."""
    from flywheel.tasks.reports import md

    lines = [f"# Judge calibration {md(result['calibration_id'])}", "",
             f"Judge {md(result['judge_model'])} against human verdicts in "
             f"{md(result['labels'])}: {result['labelled']} labelled verdicts, "
             f"{len(result['skipped'])} labels without a judge verdict. A rubric is calibrated "
             f"when Cohen's kappa ≥ {result['min_kappa']:g}.", "",
             "| rubric | n | kappa [95% CI] | TPR [95% CI] | TNR [95% CI] | human pass | judge "
             "pass | corrected pass (Rogan–Gladen) [95% CI] | confusion TP/FN/FP/TN | "
             "calibrated |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rubrics"]:
        c = r["confusion"]
        lines.append(
            f"| {md(r['rubric'])} | {r['n']} | {_cell(r['kappa'])} {_ci(r['kappa_ci'])} | "
            f"{_cell(r['tpr'])} {_ci(r['tpr_ci'])} | {_cell(r['tnr'])} {_ci(r['tnr_ci'])} | "
            f"{_cell(r['human_pass_rate'])} | {_cell(r['judge_pass_rate'])} | "
            f"{_cell(r['corrected_pass_rate'])} {_ci(r['corrected_pass_rate_ci'])} | "
            f"{c['both_pass']}/{c['judge_fail_human_pass']}/{c['judge_pass_human_fail']}/"
            f"{c['both_fail']} | {'yes' if r['calibrated'] else 'no: judge not calibrated'} |")
    lines += [f"- {md(s)}" for s in result["skipped"][:20]]
    return "\n".join(lines) + "\n"


def _ci(pair: Sequence[float | None]) -> str:
    low, high = pair
    return "" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"
