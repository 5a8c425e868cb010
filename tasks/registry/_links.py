"""Linking logged requests to registered prompt versions.

The view ``request_prompt_versions`` (sql/migrations/003_registry_links.sql) has one row per
request (none dropped) with the full ``version_hash`` its logged ``prompt_hash`` (full or a
prefix) resolves to, and a ``link_status``: resolved | unknown | ambiguous | no_hash. Other parts
join it on ``request_id``. :func:`link_report` counts the statuses and lists the logged hashes
the registry does not know, with examples.
"""

from __future__ import annotations

from typing import Any

import duckdb

from flywheel.tasks import escape
from flywheel.tasks.db import fetch_dicts

LINK_VIEW = "request_prompt_versions"


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
    limits = {"limit": examples, "per_hash": per_hash}
    counts = fetch_dicts(con, "registry/link_summary")[0]
    unlinked = fetch_dicts(con, "registry/link_unlinked", limits)
    mismatches = fetch_dicts(con, "registry/link_name_mismatches", limits)
    for row in unlinked:
        row["first_ts"], row["last_ts"] = _iso(row["first_ts"]), _iso(row["last_ts"])
        row["prompt_names"] = row["prompt_names"] or []
    return {**{k: int(v or 0) for k, v in counts.items()}, "unlinked": unlinked,
            "name_mismatches": mismatches}


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
