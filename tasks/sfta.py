"""Prefect tasks of the sftA-train flow: thin wrappers over `diffagent.rrhf.pipeline`.

The five stages are stage-cache tasks (`diffagent.stagecache`): run them with
`stagecache.run_stage`, so a stage whose inputs and settings are unchanged shows as Cached.
No retries: a failed generation or training run needs a person, not a loop.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from diffagent.rrhf import pipeline
from diffagent.rrhf.rollout import BatchJob, run_jobs_in_process
from diffagent.rrhf.rollout_models import RolloutModelsSpec, build_rollout_models
from diffagent.stagecache import STAGE_TASK, record_stage


@task(name="sft-train", **STAGE_TASK)
def sft_task(stage: pipeline.SFTStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, pipeline.run_sft(stage), started)


@task(name="retriever-train", **STAGE_TASK)
def retriever_task(stage: pipeline.RetrieverStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, pipeline.run_retriever(stage), started)


@task(name="rrhf-candidates", **STAGE_TASK)
def candidates_task(stage: pipeline.CandidatesStage) -> dict[str, Any]:
    started = time.perf_counter()
    record = record_stage(stage, pipeline.run_candidates(stage), started)
    get_run_logger().info(
        "SFT hallucination rate on the rrhf split: %.3f", record["counts"]["hallucination_rate"]
    )
    return record


@task(name="rrhf-rollouts", **STAGE_TASK)
def rollouts_task(stage: pipeline.RolloutStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, pipeline.run_rollouts(stage, get_run_logger().info), started)


@task(name="rrhf-train", **STAGE_TASK)
def rrhf_task(stage: pipeline.RRHFStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, pipeline.run_rrhf(stage), started)


@task(name="rrhf-rollout-batches", cache_policy=NO_CACHE)  # its part files are its cache
def rollout_jobs_task(jobs: list[BatchJob], models: RolloutModelsSpec, k: int, base_seed: int) -> list[str]:
    """Roll out batch jobs in this process (one load of renderer and scorers for all of them)."""
    return run_jobs_in_process(jobs, lambda: build_rollout_models(models), k, base_seed)
