"""Fixtures for the DABench tests: a Civitai-speaking server on 127.0.0.1 and a finished build."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from diffagent.civitai.client import RetryPolicy
from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.source import CivitaiSource
from diffagent.dabench import stages
from diffagent.dabench.crawl import CrawlParams
from diffagent.dabench.derive import FilterParams
from diffagent.dabench.describe import LLMConfig
from diffagent.stagecache import run_stage
from diffagent.storage import ArtifactStore
from tasks.dabench import describe_task, filter_task, split_task

SHARED_CIVITAI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "civitai"
FAST_RETRY = RetryPolicy(max_attempts=8, backoff_base=0.02, backoff_max=0.2, retry_after_max=0.05)


def build(
    store: ArtifactStore,
    url: str,
    llm: LLMConfig | None = None,
    params: CrawlParams | None = None,
    timeout: float = 30.0,
    retry: RetryPolicy = FAST_RETRY,
    incremental: bool = False,
    refresh: bool = False,
) -> dict:
    """The four stages in order, the way the flow runs them (the cached ones through Prefect)."""
    crawl = stages.run_crawl(
        store,
        url,
        params or CrawlParams(),
        timeout=timeout,
        retry=retry,
        show_progress=False,
        incremental=incremental,
    )
    root = store.root_url
    filtered = run_stage(filter_task, stages.FilterStage(root, crawl["fingerprint"], FilterParams()), refresh)
    with llm_key(llm):
        describe = stages.DescribeStage(
            root,
            filtered["fingerprint"],
            llm.base_url if llm else None,
            llm.model if llm else None,
            llm.concurrency if llm else 4,
            llm.max_attempts if llm else 3,
            show_progress=False,
        )
        described = run_stage(describe_task, describe, refresh)
    split = run_stage(split_task, stages.SplitStage(root, described["fingerprint"]), refresh)
    return {"crawl": crawl, "filter": filtered, "describe": described, "split": split}


@contextlib.contextmanager
def llm_key(llm: LLMConfig | None):
    """The describe task reads the LLM key from the environment (never from a parameter)."""
    saved = os.environ.get("DIFFAGENT_LLM_API_KEY")
    if llm is not None and llm.api_key is not None:
        os.environ["DIFFAGENT_LLM_API_KEY"] = llm.api_key.get_secret_value()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("DIFFAGENT_LLM_API_KEY", None)
        else:
            os.environ["DIFFAGENT_LLM_API_KEY"] = saved


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
