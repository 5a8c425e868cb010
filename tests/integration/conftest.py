"""The integration tier: one real Prefect server for the whole session (one per xdist worker).

Every ``flywheel`` command that runs a flow would otherwise boot its own temporary Prefect server
(10–20 s each on this machine). The server's address is put in the environment, so every
subprocess a test starts uses it; tests that need a server of their own (the deployment test,
the nightly CLI) use this one too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.prefect_server import prefect_server


@pytest.fixture(scope="session", autouse=True)
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real Prefect server (started once per session) that every subprocess talks to."""
    root = tmp_path_factory.mktemp("prefect")
    with prefect_server(root / "home", root / "server.log") as env:
        values = {key: env[key] for key in ("PREFECT_HOME", "PREFECT_API_URL",
                                             "PREFECT_SERVER_ANALYTICS_ENABLED")}
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield values
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
