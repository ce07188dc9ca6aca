"""Where rollout batches run: in this process, on a task runner (`diffagent.taskrunners`:
threads, processes, Dask), or as Prefect runs of the `rrhf-rollout` deployment on a work pool.

Jobs (one part file each) are grouped into runs of `jobs_per_run` jobs, ordered by the
checkpoints they render (the renderer's own grouping, `diffagent.render.order_jobs`), so that a
run's jobs share pipelines; each run builds the renderer and scorers once (and a process that
takes several runs keeps them: `rollout_models.loaded_models`). Every mode writes the same part
files (a batch's part holds only what its own renders decide), so the choice changes where the
work happens, never the rollouts, and is not part of the rollout stage's cache key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from diffagent.rrhf.rollout import BatchJob, PromptResponses
from diffagent.rrhf.rollout_models import RolloutModelsSpec, run_jobs_with_spec
from diffagent.taskrunners import TaskRunnerSpec, submit_all

ROLLOUT_DEPLOYMENT = "rrhf-rollout/rrhf-rollout-{pool}"
RUN_REPORT_KEY = "rollout-run"  # the table artifact each work-pool run publishes (its loads)
LOAD_COUNTS = ("model_set_builds", "scorer_loads", "pipeline_loads")


def job_checkpoint_order(jobs: Sequence[BatchJob]) -> list[int]:
    """Job indices ordered by the first checkpoint each renders, in the renderer's checkpoint
    grouping of all their render calls (so jobs that render the same checkpoints sit together)."""
    from diffagent.render import RenderJob, order_jobs

    calls: list[RenderJob] = []
    owner: list[int] = []
    for index, job in enumerate(jobs):
        for item in map(PromptResponses.from_json, job.items):
            calls += [RenderJob(api, item.prompt, item.negative_prompt, 0) for api in item.apis]
            owner += [index] * len(item.apis)
    first: dict[int, int] = {}
    for position, call in enumerate(order_jobs(calls)):
        first.setdefault(owner[call], position)
    return sorted(range(len(jobs)), key=lambda index: (first.get(index, len(calls)), index))


def group_jobs(jobs: Sequence[BatchJob], jobs_per_run: int) -> list[list[BatchJob]]:
    """Runs of at most `jobs_per_run` jobs, neighbours in checkpoint order."""
    if jobs_per_run < 1:
        raise ValueError(f"jobs_per_run must be >= 1, got {jobs_per_run}")
    ordered = [jobs[i] for i in job_checkpoint_order(jobs)]
    return [ordered[start : start + jobs_per_run] for start in range(0, len(ordered), jobs_per_run)]


def dispatch_rollouts(
    jobs: Sequence[BatchJob],
    models: RolloutModelsSpec,
    k: int,
    base_seed: int = 0,
    workers: int = 0,
    work_pool: str | None = None,
    jobs_per_run: int = 8,
    task_runner: TaskRunnerSpec | None = None,
    run_task: Any = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Run every job; returns when each part is written (raises when a run failed), with the
    number of runs and what they loaded. `workers > 0` is the process task runner of that size.
    `run_task`: the Prefect task over `run_jobs_with_spec` a task runner submits
    (`tasks.sfta.rollout_jobs_task`; passed in, since diffagent never imports tasks/).
    `timeout_s` bounds the wait for work-pool runs (None: no bound)."""
    if not jobs:
        return {"runs": 0, **dict.fromkeys(LOAD_COUNTS, 0)}
    runs = group_jobs(jobs, jobs_per_run)
    if task_runner is None and workers > 0:
        task_runner = TaskRunnerSpec("process", max_workers=workers)
    if work_pool:
        reports = run_on_work_pool(runs, models, k, base_seed, work_pool, timeout_s)
    elif task_runner is not None:
        if run_task is None:
            raise ValueError(f"a {task_runner.kind!r} task runner needs the rollout task to submit")
        parameters = [{"jobs": run, "models": models, "k": k, "base_seed": base_seed} for run in runs]
        reports = submit_all(task_runner, run_task, parameters, gpu=True)
    else:
        reports = [run_jobs_with_spec(run, models, k, base_seed, progress=True) for run in runs]
    return {"runs": len(runs), **{name: sum(r[name] for r in reports) for name in LOAD_COUNTS}}


def run_on_work_pool(
    runs: Sequence[Sequence[BatchJob]],
    models: RolloutModelsSpec,
    k: int,
    base_seed: int,
    pool: str,
    timeout_s: float | None,
) -> list[dict[str, Any]]:
    """One run of the rollout deployment per group of jobs (JSON parameters), waited for with
    Prefect's own wait (`diffagent.workpool`); returns their load reports."""
    from prefect.utilities.asyncutils import run_coro_as_sync

    from diffagent.workpool import run_deployment_and_wait

    parameter_sets = [
        {"jobs": [asdict(job) for job in run], "models": models.to_json(), "k": k, "base_seed": base_seed}
        for run in runs
    ]
    finished = run_deployment_and_wait(ROLLOUT_DEPLOYMENT.format(pool=pool), parameter_sets, timeout_s)
    return run_coro_as_sync(read_run_reports([run.id for run in finished]))


async def read_run_reports(run_ids: Sequence[Any]) -> list[dict[str, Any]]:
    """The load report each rollout run published as its `rollout-run` table artifact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    artifact_filter = ArtifactFilter(
        key=ArtifactFilterKey(any_=[RUN_REPORT_KEY]), flow_run_id=ArtifactFilterFlowRunId(any_=list(run_ids))
    )
    async with get_client() as client:
        artifacts = await client.read_artifacts(artifact_filter=artifact_filter)
    reports = [row for artifact in artifacts for row in _table_rows(artifact.data)]
    if len(reports) != len(run_ids):
        raise RuntimeError(f"{len(run_ids)} rollout runs published {len(reports)} {RUN_REPORT_KEY} reports")
    return reports


def _table_rows(data: Any) -> list[dict[str, Any]]:
    import json

    return json.loads(data) if isinstance(data, str) else list(data)
