"""The MLflow mirror: flywheel's eval runs, nightly A/B analyses, prompt versions and labels,
copied into an MLflow tracking store and prompt registry for teams that keep experiments there.

Off unless ``MLFLOW_TRACKING_URI`` (or ``mlflow_tracking_uri`` in flywheel.toml) is set; then it
needs the ``mlflow`` extra (``pip install -e ".[mlflow]"``). Importing this package never
imports ``mlflow``: only :mod:`flywheel.tasks.mlflow_mirror._target` does, when a mirror runs.

- :func:`run_mirror` — one attempt (the nightly ``mlflow-mirror`` step, ``flywheel mlflow sync``);
  never raises, reports trouble as a warning and persists it.
- :func:`mirror_status` — for reports: on/off, last success, last error, what is not mirrored
  yet, and ``behind`` with a one-line ``message``.

What goes where, the identity keys and the idempotency rules: docs/mlflow.md.
"""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "OFF_NOTE": "flywheel.tasks.mlflow_mirror._run",
    "mirror_enabled": "flywheel.tasks.mlflow_mirror._run",
    "run_mirror": "flywheel.tasks.mlflow_mirror._run",
    "MirrorStatus": "flywheel.tasks.mlflow_mirror._status",
    "mirror_status": "flywheel.tasks.mlflow_mirror._status",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
