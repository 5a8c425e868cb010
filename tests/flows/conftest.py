"""One Prefect test harness per test session (per xdist worker): every flow test runs against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness

from flywheel.flows.cli.common import foreground_prefect


@pytest.fixture(autouse=True, scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API (its start-up costs seconds: started once per session); flows
    run as the ``flywheel`` commands run them, in the foreground without heartbeats."""
    with prefect_test_harness(server_startup_timeout=60), foreground_prefect():
        yield

