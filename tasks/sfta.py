"""Prefect tasks of the sftA-train flow after SFT: thin wrappers over `diffagent.rrhf` functions.
No retries: a failed generation or training run needs a person, not a loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from diffagent.rrhf.candidates import CandidateParams
from diffagent.rrhf.rollout import BatchJob, run_jobs_in_process
from diffagent.rrhf.rollout_models import build_rollout_models
from diffagent.rrhf.stages import make_candidates
from diffagent.rrhf.train import RRHFParams, train_rrhf_agent


@task(name="rrhf-candidates")
def candidates_task(
    sft_dir: str,
    data: str,
    out: str,
    params: dict[str, Any],
    max_prompts: int | None,
    min_responses: int,
    base_models: dict[str, str] | None,
) -> dict[str, Any]:
    return make_candidates(
        Path(sft_dir),
        Path(data),
        Path(out),
        CandidateParams(**params),
        max_prompts,
        min_responses,
        base_models=base_models,
    )


@task(name="rrhf-rollout-batches")
def rollout_jobs_task(
    jobs: list[dict[str, Any]], models: dict[str, Any], k: int, base_seed: int
) -> list[str]:
    """Roll out batch jobs in this process (one load of renderer and scorers for all of them)."""
    parsed = [BatchJob(**job) for job in jobs]
    return [str(p) for p in run_jobs_in_process(parsed, lambda: build_rollout_models(models), k, base_seed)]


@task(name="rrhf-train")
def rrhf_train_task(
    sft_dir: str, rollouts: str, out: str, params: dict[str, Any], use_cpu: bool | None = None
) -> dict[str, Any]:
    return train_rrhf_agent(Path(sft_dir), Path(rollouts), Path(out), RRHFParams(**params), use_cpu)
