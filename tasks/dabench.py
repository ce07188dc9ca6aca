"""Prefect tasks for the DABench build: thin wrappers over `diffagent.dabench.stages`.

Retries go on the network task (crawl) only; it is never cached (it resumes, and a recrawl asks
Civitai what is new). Filter, describe and split are stage-cache tasks (`diffagent.stagecache`):
keyed by their inputs' fingerprints and settings, results kept in the DABench store, so a rerun
shows them as Cached. Run them with `stagecache.run_stage`, which also recomputes a stage whose
outputs were deleted or replaced. Secrets (Civitai key, LLM key) are read from settings inside
the task, never passed as parameters, so they never reach the Prefect API's record of a run.

Filter and describe submit their shards to a task runner as the `*-shard` tasks below: not
cached (the stage around them is) and not persisted (their results go straight to the merge).
A describe shard reads the LLM key where it runs, so a remote worker needs it in its environment.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from diffagent.civitai.client import RetryPolicy
from diffagent.dabench import stages, summary
from diffagent.dabench.crawl import CrawlParams
from diffagent.dabench.derive import FilterParams
from diffagent.dabench.describe import LLMConfig
from diffagent.dabench.shards import ShardResult, filter_shard
from diffagent.settings import get_settings
from diffagent.stagecache import STAGE_TASK, record_stage
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


SHARD_TASK = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="filter-pairs", **STAGE_TASK)
def filter_task(stage: stages.FilterStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, stages.run_filter(stage, filter_shard_task), started)


@task(name="filter-shard", **SHARD_TASK)
def filter_shard_task(root: str, start: int, stop: int, params: FilterParams) -> ShardResult:
    return filter_shard(root, start, stop, params)


def stage_llm(stage: stages.DescribeStage) -> LLMConfig | None:
    """The describe stage's LLM with its key from settings (None: the offline builder)."""
    if not (stage.llm_base_url and stage.llm_model):
        return None
    key = get_settings().llm_api_key
    return LLMConfig(stage.llm_base_url, stage.llm_model, key, stage.llm_concurrency, stage.llm_max_attempts)


@task(name="reconstruct-descriptions", **STAGE_TASK)
def describe_task(stage: stages.DescribeStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, stages.run_describe(stage, stage_llm(stage), describe_shard_task), started)


@task(name="describe-shard", **SHARD_TASK)
def describe_shard_task(
    stage: stages.DescribeStage, start: int, stop: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    return stages.describe_shard(stage, stage_llm(stage), start, stop)


@task(name="split-8-1-1", **STAGE_TASK)
def split_task(stage: stages.SplitStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, stages.run_split(stage), started)


@task(name="civitai-key", cache_policy=NO_CACHE)
def civitai_key_task(block_name: str | None) -> None:
    """The Civitai key from a Prefect Secret block, when the environment has none."""
    summary.load_secret_block(block_name)


@task(name="dabench-summary", cache_policy=NO_CACHE)
def summary_task(out: str, results: dict[str, dict[str, Any]]) -> None:
    """summary.json, and the stage counts and rejects as the run's markdown artifacts."""
    ArtifactStore(out).write_json("summary.json", results)
    create_markdown_artifact(
        key="dabench-stage-counts",
        markdown=summary.stage_table(results),
        description=f"DABench build counts per stage ({out})",
    )
    create_markdown_artifact(
        key="dabench-rejects",
        markdown=summary.rejects_table(out),
        description="Rejected records per stage and reason",
    )
