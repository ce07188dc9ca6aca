"""Fixtures shared across test folders (the DABench ones are used by the storage tests too)."""

import pytest

from tests.dabench.conftest import dev_source, sample_build, sample_server  # noqa: F401


@pytest.fixture(scope="session", autouse=True)
def prefect_backend():
    """One temporary Prefect server for the flows and tasks tests run in this process.

    Without it Prefect starts its own at first use and stops it at interpreter exit, after
    pytest has closed its capture streams, which prints logging errors after the summary line.
    Subprocesses (the CLI tests, the integration tests) keep their own servers.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
