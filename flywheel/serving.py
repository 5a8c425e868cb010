"""Serving for applications: read the ``serving.json`` snapshot the nightly run writes, choose a
prompt version per user (experiments, gradual rollouts), render it, and log requests and
feedback for the next night's ingest. Standard library and jinja2 only: no Prefect, no DuckDB::

    from flywheel import serving
    router = serving.Router.load("serving.json")
    with serving.RequestLogger("landing") as logger:
        choice = router.choose("tone-test", user_id)
        messages = router.render(choice, {"question": question})
        ...  # call the model with choice.model, choice.params
        request_id = logger.log_request(choice, user_id=user_id, input=..., output=answer)

The snapshot format, the routing rules and the log files: docs/serving.md.
"""

from flywheel.tasks.serving import (
    Choice,
    MemoryStickyStore,
    RequestLogger,
    Router,
    SnapshotError,
    SqliteStickyStore,
    StickyStore,
)

__all__ = ["Choice", "MemoryStickyStore", "RequestLogger", "Router", "SnapshotError",
           "SqliteStickyStore", "StickyStore"]
