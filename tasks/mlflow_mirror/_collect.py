"""Read what the mirror has to send from DuckDB, in one short connection, as plain records."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv

from flywheel.tasks.config import Settings
from flywheel.tasks.db import connect, fetch_dicts, run, sql_text
from flywheel.tasks.errors import UsageError
from flywheel.tasks.mlflow_mirror._records import (
    PromptRecord,
    RunRecord,
    ab_record,
    control_ref,
    eval_record,
    prompt_name_of_ref,
    prompt_record,
)
from flywheel.tasks.registry import resolve


@dataclass
class Item:
    """One ledger entry to write once its MLflow side is done."""

    kind: str
    item_key: str
    fingerprint: str


@dataclass
class MirrorPlan:
    """Everything one mirror attempt sends: runs (with the ledger item each settles), prompt
    versions and labels per prompt name."""

    runs: list[tuple[Item, RunRecord]] = field(default_factory=list)
    prompts: dict[str, list[PromptRecord]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> label -> hash


def load_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the item macros (``sql/mlflow/macros.sql``) on this connection."""
    run(con, "mlflow/macros")


def _csv(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pa_csv.write_csv(table, out)
    return out.getvalue()


def _query_csv(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> bytes:
    # A relation (con.sql) hands Arrow its columns without the DB-API cursor's extra copy.
    return _csv(con.sql(sql_text(name), params=params).to_arrow_table())


def _eval_records(con: duckdb.DuckDBPyConnection, uri: str, full: bool,
                  prefix: str) -> Iterable[tuple[Item, RunRecord]]:
    for item in fetch_dicts(con, "mlflow/eval_items", {"uri": uri, "full": full}):
        hashes = [v["hash"] for v in json.loads(item["versions"])]
        contents = {r["hash"]: json.loads(r["content"]) for r in
                    fetch_dicts(con, "mlflow/version_contents", {"hashes": hashes})}
        latency = {r["prompt_hash"]: r for r in
                   fetch_dicts(con, "mlflow/eval_version_latency", {"run_id": item["run_id"]})}
        csvs = {h: _query_csv(con, "mlflow/eval_results_csv",
                              {"run_id": item["run_id"], "prompt_hash": h}) for h in hashes}
        csvs[""] = _query_csv(con, "mlflow/eval_results_csv",
                              {"run_id": item["run_id"], "prompt_hash": None})
        yield (Item(item["kind"], item["item_key"], item["fingerprint"]),
               eval_record(item, contents, latency, csvs, prefix))


def _prompt_of_control(con: duckdb.DuckDBPyConnection, report: dict[str, Any]) -> str | None:
    ref = control_ref(report)
    name = prompt_name_of_ref(ref)
    if name is None and ref:
        try:
            name = resolve(con, ref).name
        except UsageError:
            return None
    return name


def _ab_records(con: duckdb.DuckDBPyConnection, uri: str, full: bool,
                prefix: str) -> Iterable[tuple[Item, RunRecord]]:
    for item in fetch_dicts(con, "mlflow/ab_items", {"uri": uri, "full": full}):
        report = json.loads(item["report"])
        csv = _query_csv(con, "mlflow/ab_results_csv",
                         {"run_date": item["run_date"], "experiment": item["experiment"]})
        yield (Item(item["kind"], item["item_key"], item["fingerprint"]),
               ab_record(item, _prompt_of_control(con, report), csv, prefix))


def collect(settings: Settings, uri: str, *, full: bool = False,
            names: Sequence[str] | None = None, runs: bool = True) -> MirrorPlan:
    """What to mirror to ``uri``: eval runs and A/B nights not yet in the ledger in their
    current state (all with ``full``), every prompt version and label (of ``names`` only, when
    given). ``runs=False`` leaves the runs out (a label move mirrors only the prompts)."""
    plan = MirrorPlan()
    prefix = settings.mlflow_experiment_prefix
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        load_macros(con)
        for row in fetch_dicts(con, "mlflow/prompt_items"):
            if names is None or row["name"] in names:
                plan.prompts.setdefault(row["name"], []).append(prompt_record(row))
        for row in fetch_dicts(con, "mlflow/label_items"):
            if names is None or row["name"] in names:
                plan.labels.setdefault(row["name"], {})[row["label"]] = row["hash"]
        if runs:
            plan.runs += _eval_records(con, uri, full, prefix)
            plan.runs += _ab_records(con, uri, full, prefix)
    return plan
