"""The `sftA-train` flow: the retriever, then SFT -> candidates -> reward rollouts -> RRHF
(paper section 3.2).

Wiring only: every setting is a field of `SftaTrainConfig` (diffagent/config/sfta.py), so Prefect
validates a run's parameters and builds its form from it; the stages, their keys and the run
folder's layout are `diffagent.rrhf.pipeline`; where rollout batches run is
`diffagent.rrhf.dispatch`. With a work pool, the retriever, SFT, candidates and RRHF stages each
run as one `sfta-stage` run there (`pipeline.run_stage_on`), so this flow only plans, waits and
dispatches. Every stage is Cached when its inputs, settings and code are unchanged
(`refresh_cache` recomputes them all); an interrupted rollout skips the batches already written.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from diffagent.config.sfta import SftaTrainConfig
from diffagent.rrhf import pipeline
from diffagent.stagecache import run_stage
from diffagent.taskrunners import task_runner_spec
from tasks.sfta import (
    base_model_task,
    candidates_task,
    plan_task,
    retriever_task,
    rollouts_task,
    rrhf_task,
    sft_task,
)


@flow(name="sftA-train", log_prints=True)
def sfta_train(config: SftaTrainConfig) -> dict[str, Any]:
    """Train DiffAgent-SFT and DiffAgent-RRHF on the DABench `config.data` into the run folder
    `config.out` (each a local path or an fsspec URL); returns each stage's record."""
    data, out, refresh, pool = config.data, config.out, config.refresh_cache, config.work_pool
    results: dict[str, Any] = {}
    # First, what the rollout will cost (an artifact a user reads before the pool is spent).
    results["plan"] = plan_task(config)
    # The trained retriever (RUN/retriever): the retrieval selector and the hybrid's shortlist.
    stage = pipeline.retriever_stage(out, data, config.retriever)
    results["retriever"] = pipeline.run_stage_on(retriever_task, stage, refresh, pool)

    stage = pipeline.sft_stage(out, data, base_model_task(config), config.sft)
    results["sft"] = pipeline.run_stage_on(sft_task, stage, refresh, pool)

    candidates = config.candidates
    stage = pipeline.CandidatesStage(
        out,
        data,
        results["sft"]["fingerprint"],
        candidates.params(),
        candidates.max_prompts,
        candidates.min_responses,
        candidates.base_models,
    )
    results["candidates"] = pipeline.run_stage_on(candidates_task, stage, refresh, pool)

    rollout = config.rollout
    models = pipeline.rollout_models_for(config.weights, data, out, rollout.models, remote=bool(pool))
    stage = pipeline.RolloutStage(
        out,
        data,
        results["candidates"]["fingerprint"],
        models,
        rollout.k,
        rollout.batch_size,
        rollout.base_seed,
        config.workers,
        pool,
        config.jobs_per_run,
        task_runner_spec(config.task_runner),
    )
    results["rollouts"] = run_stage(rollouts_task, stage, refresh)

    stage = pipeline.RRHFStage(
        out, results["sft"]["fingerprint"], results["rollouts"]["fingerprint"], config.rrhf
    )
    results["rrhf"] = pipeline.run_stage_on(rrhf_task, stage, refresh, pool)
    return results
