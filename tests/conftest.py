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


@pytest.fixture(scope="session")
def tiny_sfta_run(tmp_path_factory, prefect_backend):
    """(DABench folder, run folder, stage records) of one quick tiny sftA-train run (k=2) on the
    small DABench of tests/rrhf: trained once, used by the evaluation flow test and (copied) by
    the stage-cache tests."""
    from tests.rrhf.conftest import quick_sfta_settings, train_sfta, write_dabench

    root = tmp_path_factory.mktemp("tiny-sfta")
    data, run = write_dabench(root / "data"), root / "run"
    return data, run, train_sfta(data, run, **quick_sfta_settings(k=2))
