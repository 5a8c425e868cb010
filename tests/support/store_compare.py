"""Compare two states of a store table by table: every table but the run log, every column but
the moments a row was written (``*_at``), as row counts and a digest of the sorted rows; and
two folders file by file (bytes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

RUN_LOG = ("runs",)  # the one table a rerun adds to by design: it records every run


def table_digests(db: Path) -> dict[str, tuple[int, str]]:
    """Every table's row count and the MD5 of its sorted rows (``*_at`` columns left out)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall() if t not in RUN_LOG]
        out = {}
        for table in tables:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                if not c.endswith("_at")]
            select = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(row, '|' ORDER BY row), '')) "
                f"FROM (SELECT CAST(ROW({select}) AS VARCHAR) AS row FROM \"{table}\")"
            ).fetchone()
        return out
    finally:
        con.close()


def tree_digests(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path) and the SHA-256 of its bytes."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
