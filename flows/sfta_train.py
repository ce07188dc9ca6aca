"""The `sftA-train` flow: the retriever, then SFT -> candidates -> reward rollouts -> RRHF
(paper section 3.2).

Wiring only: the stages, their keys and the run folder's layout are `diffagent.rrhf.pipeline`;
where rollout batches run is `diffagent.rrhf.dispatch`. With a work pool, the retriever, SFT,
candidates and RRHF stages each run as one `sfta-stage` run there (`pipeline.run_stage_on`), so
this flow only plans, waits and dispatches. Every stage is Cached when its inputs and settings
are unchanged (`refresh_cache` recomputes them all); an interrupted rollout skips the batches
already written.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from diffagent.rrhf import pipeline
from diffagent.rrhf.candidates import CandidateParams
from diffagent.rrhf.train import RRHFParams
from diffagent.stagecache import run_stage
from diffagent.taskrunners import task_runner_spec
from tasks.sfta import candidates_task, plan_task, retriever_task, rollouts_task, rrhf_task, sft_task


@flow(name="sftA-train", log_prints=True)
def sfta_train(
    data: str,
    out: str,
    base_model: str = "meta-llama/Llama-2-7b-hf",
    profile: str = "default",
    sft: dict[str, Any] | None = None,
    candidates: dict[str, Any] | None = None,
    max_prompts: int | None = None,
    min_responses: int = 3,
    base_models: dict[str, str] | None = None,
    k: int = 10,
    batch_size: int = 4,
    base_seed: int = 0,
    rollout_models: dict[str, Any] | None = None,
    workers: int = 0,
    work_pool: str | None = None,
    jobs_per_run: int = 8,
    task_runner: str | dict[str, Any] | None = None,
    image_costs: dict[str, float] | None = None,
    rrhf: dict[str, Any] | None = None,
    retriever: dict[str, Any] | None = None,
    refresh_cache: bool = False,
) -> dict[str, Any]:
    """Train DiffAgent-SFT and DiffAgent-RRHF on the DABench `data` into the run folder `out`
    (each a local path or an fsspec URL); returns each stage's record.

    Rollout batches run as `rrhf-rollout` runs on `work_pool` (`jobs_per_run` batches each), else on
    `task_runner` ("thread", "process", "dask" or a `diffagent.taskrunners.TaskRunnerSpec` JSON),
    else here; the retriever, SFT, candidates and RRHF as `sfta-stage` runs on `work_pool`, else
    here. `image_costs` (ImageCosts fields) turns the plan's counts into GPU hours."""
    results: dict[str, Any] = {}
    # First, what the rollout will cost (an artifact a user reads before the pool is spent).
    results["plan"] = plan_task(
        data, out, k, batch_size, jobs_per_run, max_prompts, candidates, min_responses, image_costs
    )
    # The trained retriever (RUN/retriever): the retrieval selector and the hybrid's shortlist.
    stage = pipeline.retriever_stage(out, data, retriever)
    results["retriever"] = pipeline.run_stage_on(retriever_task, stage, refresh_cache, work_pool)

    stage = pipeline.sft_stage(out, data, base_model, sft)
    results["sft"] = pipeline.run_stage_on(sft_task, stage, refresh_cache, work_pool)

    stage = pipeline.CandidatesStage(
        out,
        data,
        results["sft"]["fingerprint"],
        CandidateParams(**(candidates or {})),
        max_prompts,
        min_responses,
        base_models,
    )
    results["candidates"] = pipeline.run_stage_on(candidates_task, stage, refresh_cache, work_pool)

    models = pipeline.rollout_models_for(profile, data, out, rollout_models, remote=bool(work_pool))
    stage = pipeline.RolloutStage(
        out,
        data,
        results["candidates"]["fingerprint"],
        models,
        k,
        batch_size,
        base_seed,
        workers,
        work_pool,
        jobs_per_run,
        task_runner_spec(task_runner),
    )
    results["rollouts"] = run_stage(rollouts_task, stage, refresh_cache)

    stage = pipeline.RRHFStage(
        out, results["sft"]["fingerprint"], results["rollouts"]["fingerprint"], RRHFParams(**(rrhf or {}))
    )
    results["rrhf"] = pipeline.run_stage_on(rrhf_task, stage, refresh_cache, work_pool)
    return results
