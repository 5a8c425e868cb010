"""The MLflow side of the mirror: the only module that imports ``mlflow`` (imported when the
mirror runs, never by ``import flywheel.flows.nightly``).

Runs are found by their ``flywheel.key`` tag and updated in place: only tags, params and
metrics that differ are written, artifacts only when the flywheel state (fingerprint) changed,
so re-mirroring the same state writes nothing. Prompt versions are found by their
``flywheel.hash`` tag; aliases are moved to follow flywheel's labels. Everything goes through an
explicit :class:`mlflow.MlflowClient` (no fluent API, no active run, no global state).
"""

from __future__ import annotations

import math
import os
import re
import ssl
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, Run, RunTag, ViewType
from mlflow.exceptions import MlflowException

from flywheel.tasks.mlflow_mirror._records import (
    FINGERPRINT_TAG,
    HASH_TAG,
    KEY_TAG,
    PromptRecord,
    RunRecord,
    alias_problem,
)
from flywheel.tasks.mlflow_mirror._status import public_uri
from flywheel.tasks.registry import canonical_json

LINKED_PROMPTS_TAG = "mlflow.linkedPrompts"  # what MLflow's UI reads to show a run's prompts
PARENT_TAG = "mlflow.parentRunId"
_BATCH = {"metrics": 1000, "params": 100, "tags": 100}  # MLflow's log_batch limits
# A re-analysis of the same data moves statistics in the last bits (parallel float sums: up to
# ~3e-13 relative measured on the A/B p-values); smaller differences are not a new value.
METRIC_REL_TOL = 1e-9
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
MLFLOW_VERSION = mlflow.__version__


@contextmanager
def http_limits(timeout_s: float, retries: int = 2) -> Iterator[None]:
    """Bound MLflow's HTTP timeout and retries for the span of a mirror (its defaults wait
    minutes on a server that is down); variables the user set are left as they are."""
    wanted = {"MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(timeout_s))),
              "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries),
              "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    added = [k for k in wanted if k not in os.environ]
    for key in added:
        os.environ[key] = wanted[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def preflight(uri: str, timeout_s: float) -> None:
    """Fail fast when an HTTP tracking server cannot be reached (MLflow itself would retry for
    minutes). Any HTTP answer, even 401 from a proxy, counts as reachable, and so does a TLS
    problem: MLflow's own client, with its own TLS settings, has the last word on those."""
    if not uri.startswith(("http://", "https://")):
        return
    url = public_uri(uri).rstrip("/") + "/health"  # the health check needs no credentials
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            response.read(64)
    except urllib.error.HTTPError:
        return
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, ssl.SSLError):
            return
        raise ConnectionError(f"MLflow tracking server does not answer at {url}: {reason}") from None


@dataclass
class RunOutcome:
    """What happened to one run: created, updated, unchanged or recreated (a param changed,
    and MLflow params cannot change)."""

    run_id: str
    action: str
    writes: int = 0


@dataclass
class PromptOutcome:
    """What happened to one prompt's versions and aliases."""

    versions: dict[str, str] = field(default_factory=dict)  # flywheel hash -> MLflow version
    created: int = 0
    aliases_moved: int = 0
    skipped_aliases: dict[str, str] = field(default_factory=dict)  # label -> why


def _artifact_root(uri: str, configured: str | None) -> str | None:
    """Where experiments created by the mirror keep artifacts: the configured root; beside a
    sqlite store (``<folder of the .db>/mlartifacts``); else the server's default."""
    if configured:
        return configured.rstrip("/")
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        return (path.parent.resolve() / "mlartifacts").as_uri()
    return None


class MlflowTarget:
    """One MLflow store (tracking and prompt registry) the mirror writes to."""

    def __init__(self, tracking_uri: str, artifact_location: str | None = None) -> None:
        self.uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.artifact_root = _artifact_root(tracking_uri, artifact_location)
        self._experiments: dict[str, str] = {}
        # Experiments this target created hold only the runs it made: a key it has not made
        # yet cannot be there, so the lookup is skipped (the first mirror of a store).
        self._created: set[str] = set()
        self._made: set[str] = set()

    # ------------------------------------------------------------------------ experiments

    def experiment_id(self, name: str) -> str:
        """The id of the experiment named ``name``, created (or restored) when needed."""
        if name in self._experiments:
            return self._experiments[name]
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            location = (f"{self.artifact_root}/{_SAFE_NAME.sub('_', name)}"
                        if self.artifact_root else None)
            experiment_id = self.client.create_experiment(
                name, artifact_location=location, tags={"flywheel.managed": "true"})
            self._created.add(experiment_id)
        else:
            experiment_id = experiment.experiment_id
            if experiment.lifecycle_stage == "deleted":
                self.client.restore_experiment(experiment_id)
        self._experiments[name] = experiment_id
        return experiment_id

    def find_runs(self, experiment_id: str, key: str) -> list[Run]:
        """Active runs tagged ``flywheel.key = key``, oldest first."""
        if "'" in key or "\\" in key:
            raise ValueError(f"mirror key {key!r} contains a quote or backslash")
        return list(self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{KEY_TAG}` = '{key}'",
            run_view_type=ViewType.ACTIVE_ONLY, max_results=50,
            order_by=["attributes.start_time ASC"]))

    # ------------------------------------------------------------------------------- runs

    def _log(self, run_id: str, *, params: Mapping[str, str], metrics: Mapping[str, float],
             tags: Mapping[str, str], timestamp: int) -> int:
        """Log in as few ``log_batch`` calls as MLflow's limits allow."""
        metric_list = [Metric(k, v, timestamp, 0) for k, v in sorted(metrics.items())]
        param_list = [Param(k, v) for k, v in sorted(params.items())]
        tag_list = [RunTag(k, v) for k, v in sorted(tags.items())]
        batches = max(math.ceil(len(metric_list) / _BATCH["metrics"]),
                      math.ceil(len(param_list) / _BATCH["params"]),
                      math.ceil(len(tag_list) / _BATCH["tags"]))
        for i in range(batches):
            self.client.log_batch(
                run_id,
                metrics=metric_list[i * _BATCH["metrics"]:(i + 1) * _BATCH["metrics"]],
                params=param_list[i * _BATCH["params"]:(i + 1) * _BATCH["params"]],
                tags=tag_list[i * _BATCH["tags"]:(i + 1) * _BATCH["tags"]])
        return len(metric_list) + len(param_list) + len(tag_list)

    def _upload(self, run_id: str, artifacts: Mapping[str, bytes]) -> None:
        if not artifacts:
            return
        with tempfile.TemporaryDirectory(prefix="flywheel-mlflow-") as folder:
            for relative, content in artifacts.items():
                path = Path(folder) / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
            self.client.log_artifacts(run_id, folder)

    def upsert_run(self, record: RunRecord, parent_run_id: str | None = None,
                   prompt_versions: Mapping[tuple[str, str], str] | None = None) -> RunOutcome:
        """Create the run of ``record``, or bring the one tagged with its key up to date."""
        experiment_id = self.experiment_id(record.experiment)
        tags = {**record.tags, KEY_TAG: record.key}
        if parent_run_id:
            tags[PARENT_TAG] = parent_run_id
        links = [{"name": name, "version": prompt_versions[(name, h)]}
                 for name, h in record.prompts if prompt_versions and (name, h) in prompt_versions]
        if links:
            tags[LINKED_PROMPTS_TAG] = canonical_json(links)
        # A run is complete once FINISHED (set last). Several runs with one key were left by
        # concurrent mirrors: keep a complete one, the oldest, and delete the others.
        fresh = experiment_id in self._created and record.key not in self._made
        found = sorted([] if fresh else self.find_runs(experiment_id, record.key),
                       key=lambda r: (r.info.status != "FINISHED", r.info.start_time,
                                      r.info.run_id))
        for duplicate in found[1:]:
            self.client.delete_run(duplicate.info.run_id)
        existing = found[0] if found else None
        recreated = existing is not None and any(existing.data.params.get(k, v) != v
                                                 for k, v in record.params.items())
        if recreated:  # MLflow params cannot change: replace the run
            self.client.delete_run(existing.info.run_id)
            existing = None
        if existing is None:
            run = self.client.create_run(experiment_id, start_time=record.start_ms,
                                         tags={**tags, FINGERPRINT_TAG: record.fingerprint},
                                         run_name=record.name)
            run_id = run.info.run_id
            self._made.add(record.key)
            writes = self._log(run_id, params=record.params, metrics=record.metrics, tags={},
                               timestamp=record.end_ms)
            self._upload(run_id, record.artifacts)
            self.client.set_terminated(run_id, "FINISHED", end_time=record.end_ms)
            return RunOutcome(run_id, "recreated" if recreated else "created", writes)
        run_id = existing.info.run_id
        data = existing.data
        complete = existing.info.status == "FINISHED"
        new_tags = {k: v for k, v in tags.items() if data.tags.get(k) != v}
        new_params = {k: v for k, v in record.params.items() if k not in data.params}
        new_metrics = {k: v for k, v in record.metrics.items()
                       if k not in data.metrics
                       or not math.isclose(data.metrics[k], v, rel_tol=METRIC_REL_TOL)}
        writes = self._log(run_id, params=new_params, metrics=new_metrics, tags=new_tags,
                           timestamp=record.end_ms)
        # The fingerprint is written after the artifacts: an update that dies half-way is
        # finished by the next attempt.
        if not complete or data.tags.get(FINGERPRINT_TAG) != record.fingerprint:
            self._upload(run_id, record.artifacts)
            self.client.set_tag(run_id, FINGERPRINT_TAG, record.fingerprint)
            writes += 1 + len(record.artifacts)
        if not complete:
            self.client.set_terminated(run_id, "FINISHED", end_time=record.end_ms)
            writes += 1
        return RunOutcome(run_id, "updated" if writes else "unchanged", writes)

    # ---------------------------------------------------------------------------- prompts

    def _existing_versions(self, name: str) -> dict[str, str]:
        """flywheel hash -> MLflow version number of a prompt (created when missing)."""
        if self.client.get_prompt(name) is None:
            self.client.create_prompt(name, description="Mirrored from flywheel's prompt registry",
                                      tags={"flywheel.managed": "true"})
            return {}
        found: dict[str, str] = {}
        token = None
        while True:
            page = self.client.search_prompt_versions(name, max_results=100, page_token=token)
            for version in page:
                digest = (version.tags or {}).get(HASH_TAG)
                if digest and (digest not in found or int(version.version) < int(found[digest])):
                    found[digest] = str(version.version)
            token = page.token
            if not token:
                return found

    def _create_version(self, record: PromptRecord) -> str:
        try:
            version = self.client.create_prompt_version(
                record.name, template=record.messages, description=record.description,
                tags=record.tags, model_config=record.model_config)
        except (ValueError, TypeError):  # a param MLflow's model config refuses: keep it in tags
            version = self.client.create_prompt_version(
                record.name, template=record.messages, description=record.description,
                tags={**record.tags, "flywheel.model_config": canonical_json(record.model_config)})
        return str(version.version)

    def _alias_version(self, name: str, alias: str) -> str | None:
        try:
            version = self.client.get_prompt_version_by_alias(name, alias)
        except MlflowException:
            return None
        return str(version.version) if version is not None else None

    def sync_prompt(self, name: str, versions: Sequence[PromptRecord],
                    labels: Mapping[str, str]) -> PromptOutcome:
        """Register the versions MLflow lacks (found by ``flywheel.hash``) and point an alias
        per label at the label's version."""
        outcome = PromptOutcome(versions=self._existing_versions(name))
        for record in versions:
            if record.hash not in outcome.versions:
                outcome.versions[record.hash] = self._create_version(record)
                outcome.created += 1
        for label, digest in sorted(labels.items()):
            problem = alias_problem(label)
            if problem is None and digest not in outcome.versions:
                problem = f"version {digest[:12]} is not registered under {name!r}"
            if problem is not None:
                outcome.skipped_aliases[label] = problem
                continue
            target = outcome.versions[digest]
            if self._alias_version(name, label) != target:
                self.client.set_prompt_alias(name, label, int(target))
                outcome.aliases_moved += 1
        return outcome


def open_target(tracking_uri: str, artifact_location: str | None, timeout_s: float
                ) -> MlflowTarget:
    """Check the store answers and return a target for it."""
    preflight(tracking_uri, timeout_s)
    target = MlflowTarget(tracking_uri, artifact_location)
    target.client.search_experiments(max_results=1)  # opens (and for sqlite, migrates) the store
    return target
