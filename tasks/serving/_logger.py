"""RequestLogger: request and feedback records (docs/contracts.md, "Log formats") into rotating JSONL landing files.

Guarantees (docs/serving.md):

* **Never blocks the request path for long.** A call validates and serializes the record in the
  caller's thread (a bad record raises at once, in the caller, instead of being quarantined at
  ingest) and appends one line to an in-memory buffer under a lock. One writer thread per logger
  writes the buffer to disk when it holds ``flush_records`` lines or every ``flush_interval_s``.
  Only when more than ``max_pending`` lines wait (the disk is slower than the traffic) does a
  call wait for the writer, rather than drop records (``blocked_seconds`` counts it).
* **Many threads, many processes.** Threads share the buffer; each process writes its own files
  ``requests-<host>-<pid>-<seq>.jsonl`` / ``feedback-<host>-<pid>-<seq>.jsonl``. A forked child
  starts with an empty buffer (its parent writes what was buffered before the fork).
* **A file is visible only when complete.** Lines go to ``<name>.jsonl.part`` (which ingest does
  not read: its name does not end in ``.jsonl``); when the file reaches ``max_bytes`` or
  ``max_age_s``, or the logger closes, it is fsynced and renamed to ``<name>.jsonl`` (never over
  an existing file). Ingest therefore never reads a file that is still growing.
* **Nothing lost on a clean shutdown.** :meth:`close` (also at interpreter exit, via atexit, and
  on leaving a ``with`` block) writes everything buffered and publishes the files. After a crash,
  the next logger on the same host publishes ``.part`` files whose process is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flywheel.tasks.serving._choice import Choice

log = logging.getLogger(__name__)

KINDS = ("requests", "feedback")
FEEDBACK_KINDS = frozenset({"thumbs", "rating", "correction", "comment"})
_THUMBS = {1: 1, 0: 0, "up": "up", "down": "down"}
_PART = re.compile(
    r"^(?P<final>(?:requests|feedback)-(?P<host>[A-Za-z0-9_.]+)-(?P<pid>\d+)-\d+\.jsonl)"
    r"\.part(?:\.claim-(?P<claim>\d+))?$")
_SEQ = itertools.count(1)  # shared by every logger of the process: names never collide
_LIVE: weakref.WeakSet[RequestLogger] = weakref.WeakSet()
_OWNED: set[str] = set()  # .part files this process is writing


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


_second_prefix: tuple[int, str] = (-1, "")


def _now_iso() -> str:
    """Now, UTC, ISO 8601 with milliseconds and offset; the date part is formatted once a second
    (this runs on the request path)."""
    global _second_prefix
    now = time.time()
    second = int(now)
    if _second_prefix[0] != second:
        _second_prefix = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second_prefix[1]}.{int((now - second) * 1000):03d}+00:00"


def _timestamp(value: datetime | str | None) -> str:
    if value is None:
        return _now_iso()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp: a datetime needs a timezone (use UTC)")
        return value.isoformat(timespec="milliseconds")
    return value


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # dict first: ABC checks are slow


_REQUEST_REQUIRED = ("request_id", "timestamp", "user_id", "model")
_REQUEST_NUMBERS = (("latency_ms", False), ("cost_usd", False), ("prompt_tokens", True),
                    ("completion_tokens", True))


def check_request(record: Mapping[str, Any]) -> None:
    """Raise ValueError naming the field if ``record`` breaks the "Log formats" request rules."""
    get = record.get
    for key in _REQUEST_REQUIRED:
        value = get(key)
        if not value or not isinstance(value, str):
            raise ValueError(f"request record: {key} is required (a non-empty string)")
    variables, messages, output = get("input"), get("messages"), get("output")
    if variables is None and messages is None:
        raise ValueError("request record: give input (the template variables) or messages")
    if variables is not None and not _is_mapping(variables):
        raise ValueError("request record: input must be an object")
    if messages is not None and not (
            isinstance(messages, list)
            and all(_is_mapping(m) and "role" in m and "content" in m for m in messages)):
        raise ValueError("request record: messages must be a list of {role, content}")
    if output is not None and not isinstance(output, str):
        raise ValueError("request record: output must be a string or null")
    for key, integer in _REQUEST_NUMBERS:
        value = get(key)
        if value is None:
            continue
        if (isinstance(value, bool) or not isinstance(value, int if integer else int | float)
                or value < 0):
            raise ValueError(f"{key}: must be {'an integer' if integer else 'a number'} >= 0, "
                             f"not {value!r}")


def check_feedback(record: Mapping[str, Any]) -> None:
    """Raise ValueError naming the field if ``record`` breaks the "Log formats" feedback rules."""
    for key in ("feedback_id", "request_id", "timestamp", "kind"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise ValueError(f"feedback record: {key} is required (a non-empty string)")
    kind, value = record["kind"], record.get("value")
    if kind not in FEEDBACK_KINDS:
        raise ValueError(f"feedback record: kind must be one of {sorted(FEEDBACK_KINDS)}, "
                         f"not {kind!r}")
    if kind == "thumbs" and (isinstance(value, bool) or value not in _THUMBS):
        raise ValueError(f"feedback record: a thumbs value is 1, 0, 'up' or 'down', not {value!r}")
    if kind == "rating" and (isinstance(value, bool) or not isinstance(value, int | float)
                             or not 1 <= value <= 5):
        raise ValueError(f"feedback record: a rating is 1-5, not {value!r}")
    if kind == "correction" and not isinstance(record.get("corrected_output"), str):
        raise ValueError("feedback record: a correction needs corrected_output (a string)")


@dataclass
class _OpenFile:
    kind: str
    seq: int
    part: Path
    fd: int
    opened: float  # monotonic
    size: int = 0


@dataclass
class LoggerStats:
    """Counters of one logger (read them any time)."""

    records: int = 0  # accepted by log_* calls
    written: int = 0  # written to a file
    files_published: int = 0
    orphans_published: int = 0
    write_errors: int = 0
    blocked_seconds: float = 0.0
    published: list[str] = field(default_factory=list, repr=False)  # newest last (bounded)


class RequestLogger:
    """Buffered, thread-safe writer of "Log formats" request and feedback records. See the module doc."""

    def __init__(
        self, landing_dir: str | Path, *, max_bytes: int = 64 << 20, max_age_s: float = 300.0,
        flush_interval_s: float = 0.5, flush_records: int = 2000, max_pending: int = 200_000,
        recover_orphans: bool = True,
    ) -> None:
        self.landing_dir = Path(landing_dir)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.flush_interval_s = flush_interval_s
        self.flush_records = flush_records
        self.max_pending = max_pending
        self.recover_orphans = recover_orphans
        self.host = _host()
        self.stats = LoggerStats()
        self.last_error: str | None = None
        self._reset()
        _LIVE.add(self)

    def _reset(self) -> None:
        """Fresh state: at construction, and in a forked child (the parent owns the old state)."""
        self._pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._pending: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self._pending_count = 0
        self._accepted = 0
        self._written = 0
        self._published_upto = 0  # records in files already renamed to their final names
        self._rotate_wanted = 0  # the _accepted count a rotate() asked to publish
        self._flush_wanted = False
        self._closing = False
        self._closed = False
        self._writer: threading.Thread | None = None
        self._files: dict[str, _OpenFile] = {}
        self._unpublished: list[Path] = []  # closed .part files not yet renamed

    # ------------------------------------------------------------------ public API

    def log_request(
        self, choice: Choice | None = None, *, user_id: str, model: str | None = None,
        input: Mapping[str, Any] | None = None, messages: list[Mapping[str, str]] | None = None,
        output: str | None = None, error: str | None = None, latency_ms: float | None = None,
        prompt_tokens: int | None = None, completion_tokens: int | None = None,
        cost_usd: float | None = None, session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None, request_id: str | None = None,
        timestamp: datetime | str | None = None, **fields: Any,
    ) -> str:
        """Log one request; returns its ``request_id`` (a new UUID unless given).

        ``choice`` (from :meth:`Router.choose`) fills prompt_name, prompt_hash, experiment,
        variant and the model; ``fields`` may set those (or any other "Log formats" field) directly.
        """
        record: dict[str, Any] = {"request_id": request_id or uuid.uuid4().hex,
                                  "timestamp": _timestamp(timestamp), "user_id": user_id}
        if session_id is not None:
            record["session_id"] = session_id
        if choice is not None:
            record |= choice.log_fields()
        record |= fields
        record["model"] = model or (choice.model if choice is not None else None)
        for key, value in (("input", input), ("messages", messages), ("latency_ms", latency_ms),
                           ("prompt_tokens", prompt_tokens),
                           ("completion_tokens", completion_tokens), ("cost_usd", cost_usd),
                           ("error", error), ("metadata", metadata)):
            if value is not None:
                record[key] = value
        record["output"] = None if error is not None else output
        self.write("requests", record)
        return record["request_id"]

    def log_feedback(
        self, request_id: str, kind: str, value: Any = None, *, user_id: str | None = None,
        comment: str | None = None, corrected_output: str | None = None,
        feedback_id: str | None = None, timestamp: datetime | str | None = None,
    ) -> str:
        """Log feedback on a request (``kind``: thumbs, rating, correction, comment); returns
        its ``feedback_id``."""
        record: dict[str, Any] = {"feedback_id": feedback_id or uuid.uuid4().hex,
                                  "request_id": request_id, "timestamp": _timestamp(timestamp),
                                  "kind": kind}
        for key, item in (("value", value), ("corrected_output", corrected_output),
                          ("comment", comment), ("user_id", user_id)):
            if item is not None:
                record[key] = item
        self.write("feedback", record)
        return record["feedback_id"]

    def write(self, kind: str, record: Mapping[str, Any]) -> None:
        """Append one complete "Log formats" record of ``kind`` (``requests`` or ``feedback``)."""
        if kind == "requests":
            check_request(record)
        elif kind == "feedback":
            check_feedback(record)
        else:
            raise ValueError(f"kind must be 'requests' or 'feedback', not {kind!r}")
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        self._enqueue(kind, line)

    def flush(self, timeout_s: float | None = 30.0) -> bool:
        """Wait until every record logged so far is written to its (``.part``) file."""
        with self._cond:
            target = self._accepted
            if self._written >= target:
                return True
            self._flush_wanted = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._written >= target, timeout_s)

    def rotate(self, timeout_s: float | None = 30.0) -> bool:
        """Write everything logged so far and publish the files (rename to final names)."""
        with self._cond:
            target = self._accepted
            if self._published_upto >= target:
                return True
            self._rotate_wanted = max(self._rotate_wanted, target)
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._published_upto >= target, timeout_s)

    def close(self, timeout_s: float | None = 60.0) -> None:
        """Write and publish everything, then stop the writer. Further calls raise."""
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._cond.notify_all()
            writer = self._writer
        if writer is not None:
            writer.join(timeout_s)
            if writer.is_alive():
                log.error("request logger: writer still busy after %ss (%s)", timeout_s,
                          self.last_error)
        with self._cond:
            self._closed = True

    def __enter__(self) -> RequestLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the buffer

    def _enqueue(self, kind: str, line: str) -> None:
        with self._cond:
            if self._closing:
                raise RuntimeError(f"request logger for {self.landing_dir} is closed")
            if self._pending_count >= self.max_pending:
                started = time.perf_counter()
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._pending_count < self.max_pending)
                self.stats.blocked_seconds += time.perf_counter() - started
            self._pending[kind].append(line)
            self._pending_count += 1
            self._accepted += 1
            self.stats.records = self._accepted
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, daemon=True,
                                                name=f"request-logger-{self.landing_dir.name}")
                self._writer.start()
            elif self._pending_count == self.flush_records:
                self._cond.notify_all()

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        self.landing_dir.mkdir(parents=True, exist_ok=True)
        if self.recover_orphans:
            try:
                self.stats.orphans_published += publish_orphans(self.landing_dir)
            except OSError as exc:
                log.warning("request logger: could not publish orphaned files: %s", exc)
        backoff = 0.0
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._closing or self._flush_wanted
                    or self._rotate_wanted > self._published_upto
                    or self._pending_count >= self.flush_records,
                    timeout=max(self.flush_interval_s, backoff))
                batch = self._pending
                self._pending = {kind: [] for kind in KINDS}
                self._pending_count = 0
                self._flush_wanted = False
                closing = self._closing
                publish_all = closing or self._rotate_wanted > self._published_upto
                self._cond.notify_all()  # callers waiting for room in the buffer
            try:
                self._write_batch(batch)
                self._rotate_due(publish_all)
                backoff = 0.0
            except OSError as exc:
                self._requeue(batch)
                self.stats.write_errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("request logger: cannot write to %s (%s); retrying, nothing dropped",
                          self.landing_dir, exc)
                backoff = min(max(backoff * 2, 0.1), 5.0)
                if closing and self.stats.write_errors > 50:
                    log.error("request logger: giving up at exit; %d records not written",
                              self._pending_count)
                    return
                continue
            with self._cond:
                if not self._files and not self._unpublished:
                    self._published_upto = self._written
                self._cond.notify_all()
                if closing and self._pending_count == 0:
                    return

    def _requeue(self, batch: dict[str, list[str]]) -> None:
        """Put back the lines of a batch that did not reach a file (written ones were cleared)."""
        with self._cond:
            for kind in KINDS:
                self._pending[kind][:0] = batch[kind]
                self._pending_count += len(batch[kind])

    def _write_batch(self, batch: dict[str, list[str]]) -> None:
        for kind in KINDS:
            lines = batch[kind]
            if not lines:
                continue
            handle = self._files.get(kind) or self._open(kind)
            data = ("\n".join(lines) + "\n").encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(handle.fd, view):]
            handle.size += len(data)
            batch[kind] = []  # in the file now: never requeue them (that would duplicate)
            with self._cond:
                self._written += len(lines)
                self.stats.written = self._written

    def _rotate_due(self, publish_all: bool) -> None:
        now = time.monotonic()
        for kind, handle in list(self._files.items()):
            if publish_all or handle.size >= self.max_bytes or now - handle.opened >= self.max_age_s:
                del self._files[kind]
                try:
                    os.fsync(handle.fd)
                finally:
                    os.close(handle.fd)
                    self._unpublished.append(handle.part)
        while self._unpublished:
            part = self._unpublished[0]
            final = _finalize(part, part.name.removesuffix(".part"))
            self._unpublished.pop(0)
            _OWNED.discard(str(part))
            self.stats.files_published += 1
            self.stats.published = [*self.stats.published[-999:], final.name]

    def _open(self, kind: str) -> _OpenFile:
        while True:
            seq = next(_SEQ)
            part = self.landing_dir / f"{kind}-{self.host}-{self._pid}-{seq:06d}.jsonl.part"
            try:
                fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            except FileExistsError:
                continue
            _OWNED.add(str(part))
            handle = _OpenFile(kind, seq, part, fd, time.monotonic())
            self._files[kind] = handle
            return handle


def _finalize(part: Path, final_name: str) -> Path:
    """Give a complete file its final name without ever replacing an existing file."""
    folder = part.parent
    target = folder / final_name
    prefix, _, _ = final_name.rpartition("-")
    while True:
        try:
            os.link(part, target)
        except FileExistsError:  # a name from an earlier process with the same pid
            target = folder / f"{prefix}-{next(_SEQ):06d}.jsonl"
            continue
        except OSError:  # no hard links on this file system: check, then rename
            if target.exists():
                target = folder / f"{prefix}-{next(_SEQ):06d}.jsonl"
                continue
            os.rename(part, target)
            break
        os.unlink(part)
        break
    _fsync_dir(folder)
    return target


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish_orphans(landing_dir: Path) -> int:
    """Publish the ``.part`` files this host's dead processes left behind; returns how many.

    A file is claimed by an atomic rename first, so two loggers starting at once never both
    publish it. A crash may have cut the last line: ingest then quarantines that one line.
    """
    host, published = _host(), 0
    for path in sorted(landing_dir.glob("*.jsonl.part*")):
        match = _PART.match(path.name)
        if not match or match["host"] != host or str(path) in _OWNED:
            continue
        owner = int(match["claim"] or match["pid"])
        if owner != os.getpid() and _alive(owner):
            continue
        claimed = path.with_name(f"{match['final']}.part.claim-{os.getpid()}")
        try:
            if path != claimed:
                os.rename(path, claimed)
        except FileNotFoundError:  # another logger claimed it first
            continue
        if claimed.stat().st_size:
            _finalize(claimed, match["final"])
            published += 1
        else:
            claimed.unlink()
    return published


def _close_all() -> None:
    for logger in list(_LIVE):
        try:
            logger.close()
        except Exception as exc:  # interpreter exit: report, never raise
            log.error("request logger %s: close failed: %s", logger.landing_dir, exc)


def _after_fork_in_child() -> None:
    _OWNED.clear()
    for logger in list(_LIVE):
        for handle in logger._files.values():  # the parent's descriptors: close, write nothing
            with contextlib.suppress(OSError):
                os.close(handle.fd)
        logger.stats = LoggerStats()
        logger._reset()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
