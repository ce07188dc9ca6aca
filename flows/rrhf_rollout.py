"""The `rrhf-rollout` flow: one batch of reward rollouts, run by a worker of a work pool (`cuda`).

`sftA-train` submits one run of this flow per batch (`run_deployment`) when given a work pool; the
deployment `rrhf-rollout/rrhf-rollout-<pool>` must exist (prefect.yaml) and the run directory must
be reachable from the worker, since the batch writes its part file there.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.sfta import rollout_jobs_task


@flow(name="rrhf-rollout")
def rrhf_rollout(
    jobs: list[dict[str, Any]], models: dict[str, Any], k: int = 10, base_seed: int = 0
) -> list[str]:
    return rollout_jobs_task(jobs, models, k, base_seed)
