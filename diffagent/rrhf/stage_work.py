"""What each sftA-train stage does (`diffagent.rrhf.pipeline` defines the stages and their
keys): train SFT, the retriever and RRHF, generate candidates, run the reward rollouts. Each
returns the counts its stage record keeps."""

from __future__ import annotations

import json
from typing import Any

from diffagent.rrhf.pipeline import CandidatesStage, RetrieverStage, RolloutStage, RRHFStage, SFTStage
from diffagent.rrhf.stages import local_data
from diffagent.storage import absolute


def run_sft(stage: SFTStage) -> dict[str, Any]:
    from diffagent.agent.selector import MANIFEST
    from diffagent.agent.sft import train_sft

    with stage.store.local_folder("sft") as folder:
        train_sft(local_data(stage.data), stage.base_model, folder, stage.full, stage.params)
        manifest = json.loads((folder / MANIFEST).read_text())
        # The agent names the DABench location, not the local copy it may have read.
        manifest["data"] = absolute(stage.data)
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return {"agent": stage.store.url("sft"), "train_loss": manifest["train_loss"]}


def run_retriever(stage: RetrieverStage) -> dict[str, Any]:
    from diffagent.retriever.train import train_retriever

    with stage.store.local_folder("retriever") as folder:
        manifest = train_retriever(local_data(stage.data), folder, stage.base_embedder, stage.config)
    return {
        "retriever": stage.store.url("retriever"),
        "validation": manifest["validation"]["fused"],
        "weights": manifest["weights"],
    }


def run_candidates(stage: CandidatesStage) -> dict[str, Any]:
    from diffagent.rrhf.stages import make_candidates

    with stage.store.local_file("candidates.parquet") as out:
        return make_candidates(
            stage.store.url("sft"),
            local_data(stage.data),
            out,
            stage.params,
            stage.max_prompts,
            stage.min_responses,
            base_models=stage.base_models,
        )


def run_rollouts(stage: RolloutStage, progress: Any = None, run_task: Any = None) -> dict[str, Any]:
    """Plan the batches (parts already written are skipped), dispatch, collect rollouts.parquet.
    `run_task`: the Prefect task a task runner submits (see `dispatch_rollouts`)."""
    from diffagent.rrhf.dispatch import dispatch_rollouts
    from diffagent.rrhf.rollout import collect_parts, plan_batches
    from diffagent.rrhf.stages import read_candidates

    store = stage.store
    items = read_candidates(store.url("candidates.parquet"))
    plan = (items, store.url("rollouts"), stage.batch_size, stage.k, stage.base_seed)
    jobs, finished = plan_batches(*plan)
    if progress is not None:
        progress("rollout: %d batches to run, %d already done", len(jobs), len(finished))
    dispatched = dispatch_rollouts(
        jobs,
        stage.models,
        stage.k,
        stage.base_seed,
        stage.workers,
        stage.work_pool,
        stage.jobs_per_run,
        stage.task_runner,
        run_task,
    )
    left, parts = plan_batches(*plan)
    if left:
        raise RuntimeError(f"{len(left)} rollout batches have no part file after dispatch")
    table = collect_parts(parts, store.url("rollouts.parquet"))
    return {
        "rows": table.num_rows,
        "prompts": len(items),
        "k": stage.k,
        "batches": len(parts),
        "rendered_batches": len(jobs),
        **dispatched,
    }


def run_rrhf(stage: RRHFStage) -> dict[str, Any]:
    """Train RRHF; the record keeps the losses and the policy's measured cost (`plan.policy_cost`),
    which the plan of a rerun reports."""
    from diffagent.rrhf.plan import PeakMemory, policy_cost
    from diffagent.rrhf.train import train_rrhf_agent

    store = stage.store
    with PeakMemory() as peak:
        manifest = train_rrhf_agent(
            store.url("sft"), store.url("rollouts.parquet"), store.url("rrhf"), stage.params, stage.use_cpu
        )
    return {
        "agent": store.url("rrhf"),
        "losses": manifest["losses"],
        "train_loss": manifest["train_loss"],
        "policy": policy_cost(manifest, peak),
    }
