"""Fixtures of the serve tests (a DABench with previews, a real `diffagent serve`) for the browser."""

from tests.serve.conftest import embeddings_cache, preview_dabench  # noqa: F401
