"""The prompt registry for applications: ``get(ref)`` and ``render(ref, variables)``, no Prefect.

    from flywheel import prompts
    version = prompts.get("support@production")
    messages = prompts.render(version, {"question": "How do I get a refund?"})
    # log prompt_name=version.name, prompt_hash=version.hash with the request

Caching (docs/registry.md): a version's content is immutable, so versions are cached by hash
for the life of the process, and a REF that is a full 64-hex hash never expires. Any other REF
(a label, a hash prefix) is re-resolved after ``ttl_s`` seconds, or at once after
:meth:`PromptRegistry.refresh`. The DuckDB file is opened read-only and only on a cache miss.

DuckDB allows one process per file when one of them writes: while the nightly run (or a
``flywheel prompts promote``) is writing, a read waits at most ``busy_timeout_s``; if it still
cannot read, the last resolved version is served (stale) and the miss is retried after another
TTL. Only a REF that was never resolved fails (:class:`DatabaseBusyError`). The serving snapshot
(a later issue) is the real answer for applications; this is the simple in-process path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flywheel.tasks.config import load_settings
from flywheel.tasks.db import connect
from flywheel.tasks.errors import DatabaseBusyError
from flywheel.tasks.registry._render import render_messages
from flywheel.tasks.registry._store import PromptVersion, resolve

log = logging.getLogger(__name__)
FULL_HASH_LEN = 64
DEFAULT_BUSY_TIMEOUT_S = 1.0


@dataclass
class _Entry:
    hash: str
    expires: float  # monotonic seconds; inf for a full-hash REF


class PromptRegistry:
    """Resolves REFs against one DuckDB file, with an in-process TTL cache. Thread-safe."""

    def __init__(
        self, db_path: str | Path, *, ttl_s: float = 30.0,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db_path = Path(db_path)
        self.ttl_s = ttl_s
        self.busy_timeout_s = busy_timeout_s
        self._clock = clock
        self._refs: dict[str, _Entry] = {}
        self._versions: dict[str, PromptVersion] = {}
        self._lock = threading.Lock()
        self.db_reads = 0  # how many times the file was opened (for tests and benchmarks)

    def _lookup(self, ref: str) -> PromptVersion:
        with connect(self.db_path, timeout_s=self.busy_timeout_s, read_only=True) as con:
            self.db_reads += 1
            return resolve(con, ref)

    def get(self, ref: str) -> PromptVersion:
        """The version ``ref`` names (``NAME@LABEL``, ``NAME:HASH``, ``HASH``).

        Raises :class:`flywheel.tasks.errors.UsageError` (listing candidates) for an unknown or
        ambiguous REF.
        """
        key = ref.strip()
        now = self._clock()
        with self._lock:
            entry = self._refs.get(key)
            if entry is not None and entry.expires > now:
                return self._versions[entry.hash]
        try:
            version = self._lookup(key)
        except DatabaseBusyError:
            if entry is None:
                raise
            log.warning("prompt registry %s is busy; serving the cached %s for %s",
                        self.db_path, entry.hash[:12], key)
            with self._lock:
                entry.expires = now + self.ttl_s
                return self._versions[entry.hash]
        pinned = len(key.rsplit(":", 1)[-1]) == FULL_HASH_LEN and "@" not in key
        with self._lock:
            self._versions[version.hash] = version
            self._refs[key] = _Entry(version.hash, float("inf") if pinned else now + self.ttl_s)
        return version

    def render(
        self, ref: str | PromptVersion, variables: Mapping[str, Any]
    ) -> list[dict[str, str]]:
        """Chat messages (system, few-shot, user) for ``ref`` or an already fetched version.

        Pass the version from :meth:`get` to render exactly the version you log. A missing
        template variable raises :class:`flywheel.tasks.errors.UsageError` naming it.
        """
        version = ref if isinstance(ref, PromptVersion) else self.get(ref)
        label = f"{version.name}:{version.short}" if isinstance(ref, PromptVersion) else ref
        return render_messages(version.content, variables, prompt=label)

    def refresh(self, ref: str | None = None) -> None:
        """Forget resolved REFs (one, or all) so the next ``get`` reads the registry again."""
        with self._lock:
            if ref is None:
                self._refs.clear()
            else:
                self._refs.pop(ref.strip(), None)


_default: PromptRegistry | None = None
_default_lock = threading.Lock()


def default_registry() -> PromptRegistry:
    """The process-wide registry for the configured database ($FLYWHEEL_DB, flywheel.toml)."""
    global _default
    with _default_lock:
        if _default is None:
            settings = load_settings()
            _default = PromptRegistry(settings.db_path, ttl_s=settings.prompt_cache_ttl_s)
        return _default


def get(ref: str) -> PromptVersion:
    """:meth:`PromptRegistry.get` on the default registry."""
    return default_registry().get(ref)


def render(ref: str | PromptVersion, variables: Mapping[str, Any]) -> list[dict[str, str]]:
    """:meth:`PromptRegistry.render` on the default registry."""
    return default_registry().render(ref, variables)


def refresh(ref: str | None = None) -> None:
    """:meth:`PromptRegistry.refresh` on the default registry."""
    default_registry().refresh(ref)
