"""The `rrhf-rollout` flow: a group of reward-rollout batches, run by a worker of a work pool
(`cuda`).

`sftA-train` submits one run of this flow per group of `jobs_per_run` batches that share
checkpoints (`diffagent.rrhf.dispatch`) when given a work pool; the deployment
`rrhf-rollout/rrhf-rollout-<pool>` must exist (prefect.yaml) and the run folder must be reachable
from the worker (a shared path or an fsspec URL), since each batch writes its part file there.
The run builds the renderer and scorers once for all its batches and publishes what it loaded
(the `rollout-run` artifact). Parameters arrive as JSON and are typed here, at the edge.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from diffagent.rrhf.rollout import BatchJob
from diffagent.rrhf.rollout_models import RolloutModelsSpec
from tasks.sfta import rollout_jobs_task


@flow(name="rrhf-rollout")
def rrhf_rollout(
    jobs: list[dict[str, Any]], models: dict[str, Any], k: int = 10, base_seed: int = 0
) -> dict[str, Any]:
    return rollout_jobs_task([BatchJob(**job) for job in jobs], RolloutModelsSpec(**models), k, base_seed)
