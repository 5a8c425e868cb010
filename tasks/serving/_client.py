"""The application side of flywheel: choose a prompt version per user from ``serving.json`` and
render it, with no Prefect and no DuckDB (standard library + jinja2).

    from flywheel.serving import RequestLogger, Router

    router = Router.load("serving.json")
    choice = router.choose("tone-test", user_id)        # an experiment, a prompt, or NAME@LABEL
    variant, version_hash = choice                       # a Choice unpacks to (variant, hash)
    messages = router.render(choice, {"question": q})
    ... call choice.model with messages and **choice.params ...
    logger.log_request(choice, user_id=user_id, input={"question": q}, messages=messages, ...)

Routing rules (docs/serving.md):

* an experiment name: users inside the experiment's rollout fraction (all users when it has no
  ramp) get ``assign_variant(experiment, user, variants, weights)`` and are logged with the
  experiment and variant; the others, and everybody before ``start`` or after ``end``, get the
  control version and are logged without an experiment;
* a bandit experiment (its entry has ``allocation.periods``): the same, with the weights of the
  latest period that has started, and a user keeps the arm first recorded for them in the
  router's sticky store (``sticky=``, default in memory; ``SqliteStickyStore`` for a file shared
  by the processes of a host);
* a prompt name means ``NAME@production``; ``NAME@LABEL`` is that label's version, except
  while a promotion ramp runs on it: users inside the ramp fraction get the promoted version,
  the others the version the label moved from, each logged as an arm of the ramp's experiment
  tag (so the nightly A/B engine can compare them).

The file is re-read when it changes (checked at most every ``check_interval_s``: one
``os.stat``). A file that cannot be used (half-written, bad JSON, wrong checksum, unknown
schema, an older generation) is ignored: the router keeps serving its last good copy, logs a
warning once per bad file, and counts it in ``reload_failures`` with ``stale = True``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flywheel.tasks.registry import render_messages, template_syntax_error
from flywheel.tasks.serving._choice import Choice
from flywheel.tasks.serving._logger import RequestLogger
from flywheel.tasks.serving._snapshot_format import SnapshotError, decode
from flywheel.tasks.serving._sticky import MemoryStickyStore, StickyStore
from flywheel.tasks.serving.assignment import cumulative_weights, in_rollout, pick, variant_bucket

__all__ = ["Choice", "RequestLogger", "Router", "SnapshotError"]

log = logging.getLogger(__name__)
DEFAULT_LABEL = "production"
DEFAULT_CHECK_INTERVAL_S = 1.0
_MISSING = (-1, -1, -1)  # the file id of a file that could not be stat'ed


@dataclass(frozen=True)
class _Arm:
    name: str
    hash: str
    prompt: str


@dataclass(frozen=True)
class _Experiment:
    name: str
    arms: tuple[_Arm, ...]
    cumulative: tuple[float, ...]
    start: float  # epoch seconds
    end: float  # epoch seconds; inf when open
    fraction: float  # rollout fraction: share of users enrolled
    periods: tuple[tuple[float, tuple[float, ...]], ...] = ()  # bandit: (from epoch, cumulative)


@dataclass(frozen=True)
class _Ramp:
    experiment: str  # the tag requests of this ramp stage are logged under
    previous: str
    promoted: str
    fraction: float


@dataclass(frozen=True)
class _State:
    generation: int
    document: dict[str, Any]
    versions: dict[str, dict[str, Any]]  # hash -> {"name", "content"}
    labels: dict[str, dict[str, str]]  # prompt -> label -> hash
    ramps: dict[tuple[str, str], _Ramp]  # (prompt, label) -> ramp
    experiments: dict[str, _Experiment]
    file_id: tuple[int, int, int]  # (st_ino, st_size, st_mtime_ns) of the file read


def _epoch(value: str | None, default: float) -> float:
    return default if value is None else datetime.fromisoformat(value).timestamp()


def _periods(allocation: dict[str, Any] | None, arms: int
             ) -> tuple[tuple[float, tuple[float, ...]], ...]:
    """A bandit's periods, oldest first: (the moment it starts, its cumulative weights)."""
    if allocation is None:
        return ()
    out = []
    for period in allocation["periods"]:
        weights = [float(w) for w in period["weights"]]
        if len(weights) != arms:
            raise ValueError(f"period {period.get('period')}: {len(weights)} weights for "
                             f"{arms} arms")
        out.append((_epoch(period["from"], float("-inf")), cumulative_weights(weights)))
    return tuple(sorted(out, key=lambda p: p[0]))


def _check_versions(versions: dict[str, Any], source: str) -> None:
    """Every version can be rendered: a name, and content whose template is text that parses
    (else ``choose()``/``render`` would fail on the request path instead of at adoption)."""
    for digest, version in versions.items():
        where = f"{source}: version {str(digest)[:12]}"
        if not isinstance(version, dict) or not isinstance(version.get("name"), str):
            raise SnapshotError(f"{where}: must be an object with a prompt name")
        content = version.get("content")
        if not isinstance(content, dict) or not isinstance(content.get("template"), str):
            raise SnapshotError(f"{where}: has no template (content.template must be text)")
        error = template_syntax_error(content["template"])
        if error is not None:
            raise SnapshotError(f"{where}: template does not parse (line {error.lineno}: "
                                f"{error.message})")


def _experiment(name: str, exp: dict[str, Any], source: str) -> _Experiment:
    """One experiment entry, checked: at least one arm and exactly one weight per arm."""
    arms = tuple(_Arm(v["name"], v["hash"], v["prompt"]) for v in exp["variants"])
    weights = [float(w) for w in exp["weights"]]
    if not arms or len(weights) != len(arms):
        raise SnapshotError(f"{source}: experiment {name!r}: {len(weights)} weights for "
                            f"{len(arms)} arms (one weight per arm)")
    rollout = exp.get("rollout")
    return _Experiment(
        name, arms, cumulative_weights(weights),
        _epoch(exp.get("start"), float("-inf")), _epoch(exp.get("end"), float("inf")),
        1.0 if rollout is None else float(rollout["fraction"]),
        _periods(exp.get("allocation"), len(arms)))


def _compile(document: dict[str, Any], file_id: tuple[int, int, int], source: str) -> _State:
    """Index a verified document for fast routing; :class:`SnapshotError` if it is inconsistent
    (docs/serving.md, "Reloads": checked before adoption, so routing never meets a bad entry)."""
    versions = document["versions"]
    _check_versions(versions, source)
    try:
        labels = {name: dict(p.get("labels") or {}) for name, p in document["prompts"].items()}
        ramps = {}
        for name, prompt in document["prompts"].items():
            for label, ramp in (prompt.get("rollouts") or {}).items():
                ramps[(name, label)] = _Ramp(ramp["experiment"], ramp["previous"],
                                             ramp["promoted"], float(ramp["fraction"]))
        experiments = {name: _experiment(name, exp, source)
                       for name, exp in document["experiments"].items()}
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SnapshotError(f"{source}: malformed entry ({type(exc).__name__}: {exc})") from None
    needed = {h for by_label in labels.values() for h in by_label.values()}
    needed |= {h for r in ramps.values() for h in (r.previous, r.promoted)}
    needed |= {a.hash for e in experiments.values() for a in e.arms}
    missing = sorted(needed - set(versions))
    if missing:
        raise SnapshotError(f"{source}: versions missing for {', '.join(h[:12] for h in missing)}")
    return _State(int(document["generation"]), document, versions, labels, ramps, experiments,
                  file_id)


class Router:
    """Routes requests to prompt versions from a serving snapshot. Thread-safe."""

    def __init__(
        self, path: str | Path, *, check_interval_s: float = DEFAULT_CHECK_INTERVAL_S,
        clock: Callable[[], float] = time.time, sticky: StickyStore | None = None,
    ) -> None:
        """Prefer :meth:`load`, which reads the file at once. ``sticky``: where bandit
        experiments keep each user's first arm (default: in this process's memory)."""
        self.path = Path(path)
        self.sticky: StickyStore = sticky if sticky is not None else MemoryStickyStore()
        self.check_interval_s = check_interval_s
        self._clock = clock
        self._state: _State | None = None
        self._next_check = 0.0
        self._reload_lock = threading.Lock()
        self._bad_file: tuple[int, int, int] | None = None
        self.reloads = 0  # good files adopted after the first
        self.reload_failures = 0  # unusable files seen (each counted once)
        self.stale = False  # True while the file on disk is one we refused
        self.last_error: str | None = None

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> Router:
        """A router over the snapshot at ``path``; :class:`SnapshotError` if it is unusable."""
        router = cls(path, **options)
        file_id = router._file_id()
        router._state = router._read(file_id)
        router._next_check = time.monotonic() + router.check_interval_s
        return router

    # ------------------------------------------------------------------ reading the file

    def _file_id(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise SnapshotError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _read(self, file_id: tuple[int, int, int]) -> _State:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SnapshotError(f"{self.path}: cannot read: {exc.strerror or exc}") from None
        return _compile(decode(data, source=str(self.path)), file_id, str(self.path))

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        # one thread checks; the others keep routing on the state they have
        if now < self._next_check or not self._reload_lock.acquire(blocking=False):
            return
        try:
            self._next_check = now + self.check_interval_s
            self._reload()
        finally:
            self._reload_lock.release()

    def reload(self) -> bool:
        """Re-read the file now if it changed; True when a newer generation was adopted.

        Never raises for a bad file: the last good copy stays in use (see the module doc).
        """
        with self._reload_lock:
            return self._reload()

    def _reload(self) -> bool:
        current = self._state
        try:
            file_id = self._file_id()
        except SnapshotError as exc:
            if self._bad_file != _MISSING:
                self._refuse(exc, _MISSING)
            return False
        if current is not None and file_id == current.file_id:
            self._bad_file, self.stale = None, False
            return False
        if file_id == self._bad_file:
            return False
        try:
            state = self._read(file_id)
            if current is not None and state.generation < current.generation:
                raise SnapshotError(
                    f"{self.path}: generation {state.generation} is older than the one in use "
                    f"({current.generation}); a restored backup?")
        except SnapshotError as exc:
            self._refuse(exc, file_id)
            return False
        changed = current is None or state.generation != current.generation
        self._state = state
        self._bad_file, self.stale, self.last_error = None, False, None
        if changed and current is not None:
            self.reloads += 1
            log.info("serving snapshot %s: generation %d -> %d", self.path,
                     current.generation, state.generation)
        return changed

    def _refuse(self, exc: SnapshotError, file_id: tuple[int, int, int]) -> None:
        self._bad_file = file_id
        self.reload_failures += 1
        self.stale = True
        self.last_error = str(exc)
        kept = self._state.generation if self._state else None
        log.warning("serving snapshot refused, keeping generation %s: %s", kept, exc)

    def _current(self) -> _State:
        self._maybe_reload()
        state = self._state
        if state is None:
            raise SnapshotError(f"{self.path}: no snapshot loaded")
        return state

    @property
    def generation(self) -> int:
        """The generation of the snapshot in use."""
        return self._current().generation

    @property
    def document(self) -> dict[str, Any]:
        """The whole snapshot in use (read only)."""
        return self._current().document

    # ------------------------------------------------------------------ routing

    def choose(self, subject: str, user_id: str) -> Choice:
        """The version to serve ``user_id`` for an experiment, a prompt or ``NAME@LABEL``.

        An experiment name wins over a prompt of the same name. :class:`KeyError` naming the
        known subjects for an unknown one.
        """
        state = self._current()
        exp = state.experiments.get(subject)
        if exp is not None:
            return self._choose_in_experiment(state, exp, user_id)
        name, _, label = subject.partition("@")
        label = label or DEFAULT_LABEL
        by_label = state.labels.get(name)
        if by_label is None or label not in by_label:
            raise KeyError(self._unknown(state, subject))
        ramp = state.ramps.get((name, label))
        if ramp is not None:
            inside = in_rollout(f"{name}@{label}", user_id, ramp.fraction)
            variant, digest = ("promoted", ramp.promoted) if inside else ("previous", ramp.previous)
            return Choice(subject, variant, digest, name, ramp.experiment,
                          state.versions[digest]["content"], state.generation)
        digest = by_label[label]
        return Choice(subject, label, digest, name, None, state.versions[digest]["content"],
                      state.generation)

    def _choose_in_experiment(self, state: _State, exp: _Experiment, user_id: str) -> Choice:
        now = self._clock()
        if exp.start <= now < exp.end and in_rollout(exp.name, user_id, exp.fraction):
            arm = self._bandit_arm(exp, user_id, now) if exp.periods else \
                exp.arms[pick(exp.cumulative, variant_bucket(exp.name, user_id))]
            tag: str | None = exp.name
        else:
            arm, tag = exp.arms[0], None
        return Choice(exp.name, arm.name, arm.hash, arm.prompt, tag,
                      state.versions[arm.hash]["content"], state.generation)

    def _bandit_arm(self, exp: _Experiment, user_id: str, now: float) -> _Arm:
        """A bandit's arm: the one first recorded for the user, else the split of the latest
        period started (recorded: the user keeps it when the weights change)."""
        by_name = {a.name: a for a in exp.arms}
        kept = self.sticky.get(exp.name, user_id)
        if kept in by_name:
            return by_name[kept]
        cumulative = exp.cumulative
        for starts, weights in exp.periods:
            if starts <= now:
                cumulative = weights
        arm = exp.arms[pick(cumulative, variant_bucket(exp.name, user_id))]
        return by_name.get(self.sticky.put(exp.name, user_id, arm.name), arm)

    @staticmethod
    def _unknown(state: _State, subject: str) -> str:
        prompts = sorted(f"{n}@{label}" for n, labels in state.labels.items() for label in labels)
        return (f"{subject!r} is neither an experiment nor a labeled prompt in serving snapshot "
                f"generation {state.generation}; experiments: "
                f"{', '.join(sorted(state.experiments)) or 'none'}; prompts: "
                f"{', '.join(prompts) or 'none'}")

    def render(self, choice: Choice | str, variables: Mapping[str, Any]) -> list[dict[str, str]]:
        """Chat messages for a :class:`Choice` (or a full version hash in the snapshot).

        Jinja2 with StrictUndefined and no autoescape: a missing variable raises
        :class:`flywheel.tasks.errors.UsageError` naming it.
        """
        if isinstance(choice, Choice):
            return render_messages(choice.content, variables, prompt=choice.prompt_name)
        version = self._current().versions.get(choice)
        if version is None:
            raise KeyError(f"version {choice[:12]!r} is not in the serving snapshot")
        return render_messages(version["content"], variables, prompt=version["name"])
