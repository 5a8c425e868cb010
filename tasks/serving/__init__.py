"""Serving: the snapshot applications read, the client they read it with, request logging, and
gradual rollout (docs/serving.md). Applications use the outer face, ``flywheel.serving``.

For applications (standard library + jinja2 only; importing them loads neither Prefect nor
DuckDB nor scipy, and this face loads a module only when one of its names is used):
  _client     Router: load serving.json, choose a version per user, render chat messages
  _sticky     StickyStore, MemoryStickyStore, SqliteStickyStore: a bandit user's first arm
  _choice     Choice: the version chosen for one request, as the logger records it
  _logger     RequestLogger: request and feedback records into rotating JSONL landing files
  assignment  the variant split (``assign_variant``, docs/contracts.md, "Statistics API") and
              the monotone rollout bucket
  _snapshot_format  the file format: schema version, generation, checksum, decoding

For flywheel itself (DuckDB):
  _snapshot   build and atomically write serving.json from the registry, experiments, ramps
  rollout     ramps: start, the nightly advance / hold / rollback decision, history
  report      Markdown and query functions for the night's summary and the reports
"""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "Choice": "flywheel.tasks.serving._choice",
    "Router": "flywheel.tasks.serving._client",
    "RequestLogger": "flywheel.tasks.serving._logger",
    "MemoryStickyStore": "flywheel.tasks.serving._sticky",
    "SqliteStickyStore": "flywheel.tasks.serving._sticky",
    "StickyStore": "flywheel.tasks.serving._sticky",
    "write_snapshot": "flywheel.tasks.serving._snapshot",
    "SnapshotError": "flywheel.tasks.serving._snapshot_format",
    "decode": "flywheel.tasks.serving._snapshot_format",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
