"""RequestLogger: many threads and processes lose and duplicate nothing (counted after a real
ingest), files are only visible when complete, rotation, crash recovery, exit, fork."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from flywheel.tasks.config import load_settings
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.ingest._files import classify, discover
from flywheel.tasks.serving._logger import RequestLogger, publish_orphans
from tests.conftest import REPO

pytestmark = pytest.mark.unit

THREADS, PER_THREAD = 8, 1500


def log_traffic(logger: RequestLogger, prefix: str, n: int) -> None:
    """n requests, every third with a thumbs feedback, ids derived from ``prefix``."""
    for i in range(n):
        rid = logger.log_request(user_id=f"{prefix}-u{i % 97}", model="gpt-4o-mini",
                                 input={"question": f"q {i}"}, output="a", latency_ms=12.5,
                                 request_id=f"{prefix}-r{i}", prompt_name="support",
                                 prompt_hash="70f434f035b40e2d82b8a86fb69a0b58d4d8bc93")
        if i % 3 == 0:
            logger.log_feedback(rid, "thumbs", "up", feedback_id=f"{prefix}-f{i}")


def ingest(landing: Path, tmp_path: Path) -> dict[str, int]:
    settings = load_settings(db=tmp_path / "ingest.duckdb", project_dir=tmp_path)
    return ingest_paths(settings, [landing]).to_dict()


def lines_in(landing: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(landing.glob("*.jsonl"))
            for line in path.read_text("utf-8").splitlines()]


def test_many_threads_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    logger = RequestLogger(landing, max_bytes=64_000, flush_records=500)
    threads = [threading.Thread(target=log_traffic, args=(logger, f"t{t}", PER_THREAD))
               for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    logger.close()
    total, feedback = THREADS * PER_THREAD, THREADS * len(range(0, PER_THREAD, 3))
    assert logger.stats.records == logger.stats.written == total + feedback
    assert logger.stats.files_published > 2  # rotated by size
    assert not list(landing.glob("*.part*"))
    summary = ingest(landing, tmp_path)
    assert summary["requests_inserted"] == total and summary["feedback_inserted"] == feedback
    assert summary["requests_duplicate"] == summary["feedback_duplicate"] == 0
    assert summary["rejected"] == 0 and summary["files_failed"] == 0


_WORKER = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, {repo!r})
    from flywheel.tasks.serving._logger import RequestLogger
    from tests.unit.test_serving_logger import log_traffic
    logger = RequestLogger({landing!r}, max_bytes=50_000)
    threads = [threading.Thread(target=log_traffic, args=(logger, f"p{{sys.argv[1]}}-t{{t}}", 800))
               for t in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    # no close(): the atexit hook must write and publish everything
""")


def test_two_processes_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    code = _WORKER.format(repo=str(REPO), landing=str(landing))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(p)], cwd=REPO) for p in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    names = sorted(p.name for p in landing.iterdir())
    pids = {name.split("-")[2] for name in names}
    assert len(pids) == 2 and all(classify(landing / n) for n in names)
    summary = ingest(landing, tmp_path)
    assert summary["requests_inserted"] == 2 * 4 * 800
    assert summary["feedback_inserted"] == 2 * 4 * len(range(0, 800, 3))
    assert summary["requests_duplicate"] == summary["feedback_duplicate"] == 0
    assert summary["rejected"] == 0


def test_open_files_stay_invisible_to_ingest_until_published(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    logger = RequestLogger(landing)
    log_traffic(logger, "a", 30)
    assert logger.flush()
    parts = list(landing.glob("*.part"))
    assert parts and all(classify(p) is None for p in parts)
    assert discover([landing]) == ([], [])
    assert logger.rotate()
    files, _ = discover([landing])
    assert sorted(f.kind for f in files) == ["feedback", "requests"]
    log_traffic(logger, "b", 30)
    logger.close()
    assert len(lines_in(landing)) == 2 * (30 + 10)


def test_files_are_published_by_age_without_closing(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    logger = RequestLogger(landing, max_age_s=0.05, flush_interval_s=0.02)
    log_traffic(logger, "a", 5)
    import time
    deadline = time.monotonic() + 5
    while not list(landing.glob("requests-*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(landing.glob("requests-*.jsonl"))
    logger.close()


def test_a_crashed_process_leaves_part_files_the_next_logger_publishes(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        from flywheel.tasks.serving._logger import RequestLogger
        from tests.unit.test_serving_logger import log_traffic
        logger = RequestLogger({str(landing)!r})
        log_traffic(logger, "crashed", 300)
        assert logger.flush()
        os._exit(9)  # a crash: no atexit, no close
    """)
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 9
    assert len(list(landing.glob("*.part"))) == 2 and not list(landing.glob("*.jsonl"))
    with next(landing.glob("requests-*.part")).open("ab") as cut:  # a write the crash cut short
        cut.write(b'{"request_id": "crashed-r300", "timestamp": "2026-11-')
    assert publish_orphans(landing) == 2
    assert publish_orphans(landing) == 0
    summary = ingest(landing, tmp_path)
    assert summary["requests_inserted"] == 300 and summary["feedback_inserted"] == 100
    assert summary["rejected"] == 1  # the cut line is quarantined, not dropped silently


def test_a_forked_child_does_not_write_its_parents_buffer(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    logger = RequestLogger(landing, flush_interval_s=60, flush_records=10**6)
    log_traffic(logger, "parent-before", 50)  # buffered, not yet written
    pid = os.fork()
    if pid == 0:  # the child
        try:
            log_traffic(logger, "child", 20)
            logger.close()
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    log_traffic(logger, "parent-after", 10)
    logger.close()
    ids = [r.get("request_id") for r in lines_in(landing) if "feedback_id" not in r]
    assert len(ids) == len(set(ids)) == 50 + 20 + 10


def test_bad_records_fail_in_the_caller_and_nothing_is_written(tmp_path: Path) -> None:
    logger = RequestLogger(tmp_path / "landing")
    with pytest.raises(ValueError, match="user_id"):
        logger.log_request(user_id="", model="m", input={})
    with pytest.raises(ValueError, match="input"):
        logger.log_request(user_id="u", model="m")
    with pytest.raises(ValueError, match="latency_ms"):
        logger.log_request(user_id="u", model="m", input={}, latency_ms=-1)
    with pytest.raises(ValueError, match="model"):
        logger.log_request(user_id="u", input={})
    with pytest.raises(ValueError, match="thumbs"):
        logger.log_feedback("r1", "thumbs", 5)
    with pytest.raises(ValueError, match="rating"):
        logger.log_feedback("r1", "rating", 7)
    with pytest.raises(ValueError, match="corrected_output"):
        logger.log_feedback("r1", "correction")
    with pytest.raises(ValueError):  # NaN is not JSON
        logger.log_request(user_id="u", model="m", input={}, latency_ms=float("nan"))
    logger.close()
    assert logger.stats.records == 0
    with pytest.raises(RuntimeError, match="closed"):
        logger.log_request(user_id="u", model="m", input={})
