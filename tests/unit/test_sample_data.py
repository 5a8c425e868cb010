"""The sample data: deterministic, consistent with assign_variant, malformed lines as documented."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.sample_data import SampleSpec, write_sample_data
from flywheel.tasks.sample_data._generate import ARMS
from flywheel.tasks.stats import assign_variant

pytestmark = pytest.mark.unit

SPEC = SampleSpec(days=4, users=300, seed=11)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    out = tmp_path_factory.mktemp("sample")
    truth = write_sample_data(out, SPEC)
    db = out / "f.duckdb"
    ingest_paths(load_settings(db=db, project_dir=out), [out / "landing"])
    return out, truth, db


def test_the_planted_malformed_lines_and_only_they_are_quarantined(sample: tuple[Path, dict, Path]) -> None:
    out, truth, db = sample
    con = duckdb.connect(str(db))
    rejected = con.execute("SELECT file, line_no, reason FROM rejected_records ORDER BY file, line_no").fetchall()
    con.close()
    expected = sorted((str(out / m["file"]), m["line"], m["reason"]) for m in truth["malformed_lines"])
    assert [(f, n) for f, n, _ in rejected] == [(f, n) for f, n, _ in expected]
    for (_, _, reason), (_, _, prefix) in zip(rejected, expected, strict=True):
        assert reason.startswith(prefix)


def test_logged_variants_follow_assign_variant_and_the_pre_period_has_no_experiment(
    sample: tuple[Path, dict, Path],
) -> None:
    _, truth, db = sample
    con = duckdb.connect(str(db))
    rows = con.execute("SELECT DISTINCT experiment, variant, user_id FROM requests WHERE experiment IS NOT NULL").fetchall()
    early = con.execute(
        "SELECT count(*) FROM requests WHERE experiment IS NOT NULL AND ts < ?::TIMESTAMPTZ",
        [truth["experiments_start"]],
    ).fetchone()[0]
    con.close()
    assert rows and early == 0
    for experiment, variant, user in rows:
        assert variant == assign_variant(experiment, user, list(ARMS[experiment]))


def test_prompt_hashes_in_the_logs_are_the_example_prompt_versions(sample: tuple[Path, dict, Path]) -> None:
    _, truth, db = sample
    known = {arm["prompt_hash"] for arms in truth["experiments"].values() for arm in arms.values()}
    con = duckdb.connect(str(db))
    logged = {r[0] for r in con.execute("SELECT DISTINCT prompt_hash FROM requests").fetchall()}
    con.close()
    assert all(any(full.startswith(h) for full in known) for h in logged)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    spec = SampleSpec(days=2, users=40, seed=5)
    write_sample_data(tmp_path / "a", spec)
    write_sample_data(tmp_path / "b", spec)
    write_sample_data(tmp_path / "c", SampleSpec(days=2, users=40, seed=6))
    name = "landing/2026-11-01/requests-2026-11-01.jsonl"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()
    truth = json.loads((tmp_path / "a/TRUTH.json").read_text())
    assert truth["experiments"]["tone-test"]["friendly"]["thumbs_up_relative_lift"] == pytest.approx(0.10)
