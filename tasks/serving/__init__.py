"""Serving: the snapshot applications read, the client they read it with, request logging, and
gradual rollout (docs/serving.md).

For applications (standard library + jinja2 only; importing them loads neither Prefect nor
DuckDB nor scipy):
  client      Router: load serving.json, choose a version per user, render chat messages
  logger      RequestLogger: request and feedback records into rotating JSONL landing files
  assignment  the variant split (CONTRACTS §4 assign_variant) and the monotone rollout bucket
  snapshot_format  the file format: schema version, generation, checksum, decoding

For flywheel itself (DuckDB):
  snapshot    build and atomically write serving.json from the registry, experiments, ramps
  rollout     ramps: start, the nightly advance / hold / rollback decision, history
  report      Markdown and query functions for the night's summary and the reports
"""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "Choice": "flywheel.tasks.serving._choice",
    "Router": "flywheel.tasks.serving._client",
    "RequestLogger": "flywheel.tasks.serving._logger",
    "write_snapshot": "flywheel.tasks.serving._snapshot",
    "SnapshotError": "flywheel.tasks.serving._snapshot_format",
    "decode": "flywheel.tasks.serving._snapshot_format",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
