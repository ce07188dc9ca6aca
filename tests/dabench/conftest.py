"""Fixtures for the DABench tests: a Civitai-speaking server on 127.0.0.1 and a finished build."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffagent.civitai.client import RetryPolicy
from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.source import CivitaiSource
from diffagent.dabench import stages
from diffagent.dabench.crawl import CrawlParams
from diffagent.dabench.derive import FilterParams
from diffagent.storage import ArtifactStore

SHARED_CIVITAI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "civitai"
FAST_RETRY = RetryPolicy(max_attempts=8, backoff_base=0.02, backoff_max=0.2, retry_after_max=0.05)


def build(
    store: ArtifactStore,
    url: str,
    llm=None,
    params: CrawlParams | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy = FAST_RETRY,
) -> dict:
    """The four stages in order, the way the flow runs them."""
    crawl = stages.run_crawl(
        store, url, params or CrawlParams(), timeout=timeout, retry=retry, show_progress=False
    )
    filtered = stages.run_filter(store, crawl["fingerprint"], FilterParams())
    described = stages.run_describe(store, filtered["fingerprint"], llm, show_progress=False)
    split = stages.run_split(store, described["fingerprint"])
    return {"crawl": crawl, "filter": filtered, "describe": described, "split": split}


@pytest.fixture
def sample_server():
    with CivitaiServer(CivitaiSource.sample()) as server:
        yield server


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample-build")
    with CivitaiServer(CivitaiSource.sample()) as server:
        results = build(ArtifactStore(str(out)), server.url)
    return out, results


@pytest.fixture(scope="module")
def dev_source() -> CivitaiSource:
    models = SHARED_CIVITAI / "dev_models.jsonl.gz"
    if not models.exists():
        pytest.skip("shared/data/civitai is not present")
    return CivitaiSource.from_files(models, SHARED_CIVITAI / "dev_checkpoint_hash_index.jsonl.gz")
