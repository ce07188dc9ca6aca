"""Prefect tasks of the sftA-train flow: thin wrappers over `diffagent.rrhf.pipeline`.

The five stages are stage-cache tasks (`diffagent.stagecache`): run them with
`stagecache.run_stage`, so a stage whose inputs and settings are unchanged shows as Cached.
No retries: a failed generation or training run needs a person, not a loop.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from diffagent.config.sfta import SftaTrainConfig
from diffagent.rrhf import pipeline, stage_work
from diffagent.rrhf.dispatch import RUN_REPORT_KEY
from diffagent.rrhf.plan import plan_markdown, run_plan
from diffagent.rrhf.rollout import BatchJob
from diffagent.rrhf.rollout_models import RolloutModelsSpec, run_jobs_with_spec
from diffagent.stagecache import STAGE_TASK, record_stage


@task(name="sft-train", **STAGE_TASK)
def sft_task(stage: pipeline.SFTStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, stage_work.run_sft(stage), started)


@task(name="retriever-train", **STAGE_TASK)
def retriever_task(stage: pipeline.RetrieverStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, stage_work.run_retriever(stage), started)


@task(name="rrhf-candidates", **STAGE_TASK)
def candidates_task(stage: pipeline.CandidatesStage) -> dict[str, Any]:
    started = time.perf_counter()
    record = record_stage(stage, stage_work.run_candidates(stage), started)
    get_run_logger().info(
        "SFT hallucination rate on the rrhf split: %.3f", record["counts"]["hallucination_rate"]
    )
    return record


@task(name="rrhf-rollouts", **STAGE_TASK)
def rollouts_task(stage: pipeline.RolloutStage) -> dict[str, Any]:
    started = time.perf_counter()
    counts = stage_work.run_rollouts(stage, get_run_logger().info, rollout_jobs_task)
    return record_stage(stage, counts, started)


@task(name="rrhf-train", **STAGE_TASK)
def rrhf_task(stage: pipeline.RRHFStage) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, stage_work.run_rrhf(stage), started)


# The stages an `sfta-stage` run carries out (`pipeline.POOL_STAGES`), by name.
POOL_STAGE_TASKS: dict[str, Any] = {
    "retriever": retriever_task,
    "sft": sft_task,
    "candidates": candidates_task,
    "rrhf": rrhf_task,
}


@task(name="rollout-plan", cache_policy=NO_CACHE)
def plan_task(config: SftaTrainConfig) -> dict[str, Any]:
    """The rollout's counts (and GPU hours when costs are given), published as a markdown artifact."""
    counted, source = run_plan(config)
    create_markdown_artifact(
        plan_markdown(counted), key="rollout-plan", description=f"Rollout cost plan, counted from {source}"
    )
    return {**counted.to_json(), "source": source}


@task(name="base-model", cache_policy=NO_CACHE)
def base_model_task(config: SftaTrainConfig) -> str:
    """The base LLM the run starts from (the tiny profile makes its tiny LLM on first use)."""
    return pipeline.resolved_base_model(config.base_model, config.weights)


@task(name="rrhf-rollout-batches", cache_policy=NO_CACHE)  # its part files are its cache
def rollout_jobs_task(
    jobs: list[BatchJob], models: RolloutModelsSpec, k: int, base_seed: int
) -> dict[str, Any]:
    """Roll out batch jobs on this process's model set (built once per process and spec), and
    publish what it loaded as the run's `rollout-run` table artifact (what the parent sums)."""
    report = run_jobs_with_spec(jobs, models, k, base_seed, progress=True)
    row = {name: value for name, value in report.items() if name != "parts"}
    create_table_artifact([row], key=RUN_REPORT_KEY, description="What this rollout run rendered and loaded")
    return report
