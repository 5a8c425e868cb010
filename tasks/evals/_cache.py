"""The response cache in DuckDB (table ``eval_cache``).

The key of a call is the SHA-256 of the canonical JSON of ``{"base_url", "model", "messages",
"params", "repeat"}``: the same request to the same endpoint, for the same repeat of a case,
is answered from the cache; a new repeat index is a new sample. Only successes are stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from flywheel.tasks.db import fetch_dicts, run
from flywheel.tasks.evals._client import CallResult, CallSpec
from flywheel.tasks.registry import canonical_json

_STAGE_SCHEMA = pa.schema([
    ("cache_key", pa.string()), ("base_url", pa.string()), ("model", pa.string()),
    ("output", pa.string()), ("finish_reason", pa.string()), ("response_model", pa.string()),
    ("system_fingerprint", pa.string()), ("prompt_tokens", pa.int64()),
    ("completion_tokens", pa.int64()), ("latency_ms", pa.float64()),
])


def cache_key(base_url: str, model: str, messages: Sequence[Mapping[str, Any]],
              params: Mapping[str, Any], repeat: int) -> str:
    """SHA-256 (hex) of the canonical JSON of the request and its repeat index."""
    payload = {"base_url": base_url.rstrip("/"), "model": model,
               "messages": [dict(m) for m in messages], "params": dict(params),
               "repeat": repeat}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def lookup(con: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> dict[str, CallResult]:
    """The cached results among ``keys`` (marked ``cached``, zero attempts)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = fetch_dicts(con, "evals/cache_lookup", {"keys": wanted})
    return {
        row["cache_key"]: CallResult(
            key=row["cache_key"], output=row["output"], finish_reason=row["finish_reason"],
            response_model=row["response_model"], system_fingerprint=row["system_fingerprint"],
            prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
            latency_ms=row["latency_ms"], cached=True,
        )
        for row in rows
    }


def store(con: duckdb.DuckDBPyConnection, specs: Mapping[str, CallSpec],
          results: Iterable[CallResult], now: datetime | None = None) -> int:
    """Store the successful results (errors are never cached); returns how many were staged."""
    rows = [
        {"cache_key": r.key, "base_url": specs[r.key].endpoint.base_url.rstrip("/"),
         "model": specs[r.key].model, "output": r.output, "finish_reason": r.finish_reason,
         "response_model": r.response_model, "system_fingerprint": r.system_fingerprint,
         "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
         "latency_ms": r.latency_ms}
        for r in results if r.ok and not r.cached
    ]
    if not rows:
        return 0
    con.complete()  # DuckDB 2 refuses to register a view while a result is unfetched
    con.register("eval_cache_stage", pa.Table.from_pylist(rows, schema=_STAGE_SCHEMA))
    try:
        run(con, "evals/cache_insert", {"now": now or datetime.now(UTC)})
    finally:
        con.unregister("eval_cache_stage")
    return len(rows)
