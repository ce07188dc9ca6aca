"""Prefect tasks for the DABench build: thin wrappers over `diffagent.dabench.stages`.

Retries go on the network task (crawl) only. Caching is by artifact fingerprint: each stage
records the fingerprint of its inputs next to its outputs and skips itself when they match, which
holds across runs, processes and machines sharing an `s3://` root, and never returns a result
whose files were deleted. Prefect's own result cache is therefore off (`NO_CACHE`).
Secrets (Civitai key, LLM key) are read from settings inside the task, never passed as
parameters, so they never reach the Prefect API's record of a run.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from diffagent.civitai.client import RetryPolicy
from diffagent.dabench import stages
from diffagent.dabench.crawl import CrawlParams
from diffagent.dabench.derive import FilterParams
from diffagent.dabench.describe import LLMConfig
from diffagent.settings import get_settings
from diffagent.storage import ArtifactStore


@task(name="crawl-civitai", retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def crawl_task(
    out: str,
    civitai_url: str,
    params: CrawlParams,
    concurrency: int = 8,
    timeout: float = 30.0,
    retry: RetryPolicy | None = None,
    show_progress: bool = True,
    incremental: bool = False,
) -> dict[str, Any]:
    key = get_settings().civitai_api_key
    return stages.run_crawl(
        ArtifactStore(out), civitai_url, params, key, concurrency, timeout, retry, show_progress, incremental
    )


@task(name="filter-pairs", cache_policy=NO_CACHE)
def filter_task(out: str, raw_key: str, params: FilterParams) -> dict[str, Any]:
    return stages.run_filter(ArtifactStore(out), raw_key, params)


@task(name="reconstruct-descriptions", cache_policy=NO_CACHE)
def describe_task(
    out: str,
    filter_key: str,
    llm_base_url: str | None,
    llm_model: str | None,
    llm_concurrency: int = 4,
    show_progress: bool = True,
) -> dict[str, Any]:
    llm = None
    if llm_base_url and llm_model:
        llm = LLMConfig(llm_base_url, llm_model, get_settings().llm_api_key, concurrency=llm_concurrency)
    return stages.run_describe(ArtifactStore(out), filter_key, llm, show_progress)


@task(name="split-8-1-1", cache_policy=NO_CACHE)
def split_task(out: str, describe_key: str, seed: int = 0) -> dict[str, Any]:
    return stages.run_split(ArtifactStore(out), describe_key, seed)
