"""Linking logged requests to registered prompt versions.

The view ``request_prompt_versions`` (sql/migrations/003_registry_links.sql) has one row per
request (none dropped) with the full ``version_hash`` its logged ``prompt_hash`` (full or a
prefix) resolves to, and a ``link_status``: resolved | unknown | ambiguous | no_hash. Other parts
join it on ``request_id``. :func:`link_report` counts the statuses and lists the logged hashes
the registry does not know, with examples: from ``request_link_pairs``, counts per logged
(prompt_hash, prompt_name) that :func:`refresh_link_pairs` keeps up to date by reading only the
requests ingested since its mark (issue 22), resolved against the registry when the report runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from flywheel.tasks import escape
from flywheel.tasks.db import fetch_dicts, run, transaction

LINK_VIEW = "request_prompt_versions"
EXAMPLES_KEPT = 10  # example request ids kept per logged pair: the most a report lists per hash
_BEFORE_ANY = datetime(1, 1, 1, tzinfo=UTC)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def link_report(
    con: duckdb.DuckDBPyConnection, *, examples: int = 10, per_hash: int = 3
) -> dict[str, Any]:
    """Counts of requests by link status, and the unknown/ambiguous hashes (most requests first).

    ``unlinked`` lists up to ``examples`` logged hashes, each with ``per_hash`` request ids;
    ``name_mismatches`` lists hashes that resolved to a version not registered under the logged
    ``prompt_name``.
    """
    if not 0 <= per_hash <= EXAMPLES_KEPT:
        raise ValueError(f"per_hash must be between 0 and {EXAMPLES_KEPT}, got {per_hash}")
    refresh_link_pairs(con)
    run(con, "registry/link_pairs_resolve")
    limits = {"limit": examples, "per_hash": per_hash}
    counts = fetch_dicts(con, "registry/link_summary")[0]
    unlinked = fetch_dicts(con, "registry/link_unlinked", limits)
    mismatches = fetch_dicts(con, "registry/link_name_mismatches", limits)
    for row in unlinked:
        row["first_ts"], row["last_ts"] = _iso(row["first_ts"]), _iso(row["last_ts"])
        row["prompt_names"] = row["prompt_names"] or []
    return {**{k: int(v or 0) for k, v in counts.items()}, "unlinked": unlinked,
            "name_mismatches": mismatches}


def refresh_link_pairs(con: duckdb.DuckDBPyConnection) -> None:
    """Bring ``request_link_pairs`` up to date: add the requests ingested after its mark, or
    rebuild it from every request when the store holds other rows than the mark's plus those
    ingested since (rows deleted, or written with an earlier ``ingested_at``). Nothing new:
    nothing written."""
    marks = fetch_dicts(con, "registry/link_state_read")
    mark = marks[0] if marks else None
    since = (mark["ingested_through"] if mark else None) or _BEFORE_ANY
    now = fetch_dicts(con, "schema/store_now", {"mark": since})[0]
    rebuild = mark is None or now["requests"] != mark["requests_seen"] + now["requests_after"]
    if not rebuild and now["requests_after"] == 0:
        return
    params = {"since": _BEFORE_ANY if rebuild else since, "rebuild": rebuild}
    with transaction(con):
        run(con, "registry/link_pairs_delta", {**params, "keep": EXAMPLES_KEPT})
        run(con, "registry/link_pairs_delete", {"rebuild": rebuild})
        run(con, "registry/link_pairs_insert")
        run(con, "registry/link_state_write", {"ingested_through": now["ingested_through"],
                                               "requests_seen": now["requests"]})


def describe_links(report: dict[str, Any]) -> str:
    """The link report as a few lines of text."""
    lines = [
        f"requests: {report['requests']}: {report['resolved']} linked to a registered version, "
        f"{report['unknown']} with a hash the registry does not know, {report['ambiguous']} "
        f"ambiguous, {report['no_hash']} without a prompt_hash",
    ]
    if report["name_mismatch"]:
        lines.append(f"{report['name_mismatch']} request(s) name a prompt the version is not "
                     "registered under")
    for row in report["unlinked"]:  # the hashes, names and ids come from the logs: no escapes
        names = ", ".join(row["prompt_names"]) or "no prompt_name"
        lines.append(f"  {row['link_status']} {row['logged_hash']}: {row['requests']} request(s) "
                     f"({names}), e.g. {', '.join(row['example_request_ids'])}")
    return escape.terminal("\n".join(lines))
