"""The MLflow mirror: flywheel's eval runs, nightly A/B analyses, prompt versions and labels,
copied into an MLflow tracking store and prompt registry for teams that keep experiments there.

Off unless ``MLFLOW_TRACKING_URI`` (or ``mlflow_tracking_uri`` in flywheel.toml) is set; then it
needs the ``mlflow`` extra (``pip install -e ".[mlflow]"``). Importing this package never
imports ``mlflow``: only :mod:`flywheel.tasks.mlflow_mirror.target` does, when a mirror runs.

- :func:`run_mirror` — one attempt (the nightly ``mlflow-mirror`` step, ``flywheel mlflow sync``);
  never raises, reports trouble as a warning and persists it.
- :func:`mirror_status` — for reports: on/off, last success, last error, what is not mirrored
  yet, and ``behind`` with a one-line ``message``.

What goes where, the identity keys and the idempotency rules: docs/mlflow.md.
"""

from flywheel.tasks.mlflow_mirror.run import mirror_enabled, run_mirror
from flywheel.tasks.mlflow_mirror.status import MirrorStatus, mirror_status

__all__ = ["MirrorStatus", "mirror_enabled", "mirror_status", "run_mirror"]
