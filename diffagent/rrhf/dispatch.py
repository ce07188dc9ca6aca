"""Where rollout batches run: in this process (`workers=0`), in a process pool (`workers>0`), or
as Prefect runs of the `rrhf-rollout` deployment on a work pool (`work_pool`, e.g. `cuda`).

Every mode writes the same part files (a batch's part holds only what its own renders decide),
so the choice changes where the work happens, never the rollouts, and is not part of the
rollout stage's cache key.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

from diffagent.rrhf.rollout import BatchJob, run_jobs_in_process
from diffagent.rrhf.rollout_models import RolloutModelsSpec, build_rollout_models, run_jobs_with_spec

ROLLOUT_DEPLOYMENT = "rrhf-rollout/rrhf-rollout-{pool}"


def dispatch_rollouts(
    jobs: Sequence[BatchJob],
    models: RolloutModelsSpec,
    k: int,
    base_seed: int = 0,
    workers: int = 0,
    work_pool: str | None = None,
    poll_s: float = 5.0,
) -> None:
    """Run every job; returns when each part is written (raises when a remote run failed)."""
    if not jobs:
        return
    if work_pool:
        run_on_work_pool(jobs, models, k, base_seed, work_pool, poll_s)
    elif workers > 0:
        chunks = [list(jobs[i::workers]) for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(
                pool.map(run_jobs_with_spec, chunks, [models] * workers, [k] * workers, [base_seed] * workers)
            )
    else:
        run_jobs_in_process(jobs, lambda: build_rollout_models(models), k, base_seed)


def run_on_work_pool(
    jobs: Sequence[BatchJob], models: RolloutModelsSpec, k: int, base_seed: int, pool: str, poll_s: float
) -> None:
    """One run of the rollout deployment per batch (JSON parameters), then wait for them all."""
    from prefect.deployments import run_deployment

    runs = [
        run_deployment(
            ROLLOUT_DEPLOYMENT.format(pool=pool),
            parameters={"jobs": [asdict(job)], "models": models.to_json(), "k": k, "base_seed": base_seed},
            timeout=0,
        )
        for job in jobs
    ]
    wait_for_runs([run.id for run in runs], poll_s)


def wait_for_runs(run_ids: Sequence[Any], poll_s: float = 5.0) -> None:
    """Poll the Prefect API until every flow run is final; raise naming the runs that failed."""
    from prefect.client.orchestration import get_client
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def states() -> list[Any]:
        async with get_client() as client:
            return [(await client.read_flow_run(run_id)).state for run_id in run_ids]

    while True:
        current = run_coro_as_sync(states())
        if all(state.is_final() for state in current):
            failed = [
                str(run_id)
                for run_id, state in zip(run_ids, current, strict=True)
                if not state.is_completed()
            ]
            if failed:
                raise RuntimeError(f"rollout runs did not complete: {failed}")
            return
        time.sleep(poll_s)
