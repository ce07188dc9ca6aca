"""Fixtures shared across test folders (the DABench ones are used by the storage tests too)."""

from tests.dabench.conftest import dev_source, sample_build, sample_server  # noqa: F401
