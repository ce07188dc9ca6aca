"""Rollout runs: grouped by checkpoint, one model set per process, and the same rewards on every
task runner (threads, processes, Dask on a loopback LocalCluster) as in this process."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from diffagent.catalog import Catalog
from diffagent.rrhf.dispatch import dispatch_rollouts, group_jobs
from diffagent.rrhf.reconstruct import reconstruct_candidates
from diffagent.rrhf.rollout import PromptResponses, plan_batches
from diffagent.rrhf.rollout_models import RolloutModelsSpec
from diffagent.taskrunners import TaskRunnerSpec, gpu_resources, task_runner_spec
from tasks.sfta import rollout_jobs_task
from tests.rrhf.conftest import small_catalog, write_dabench


@pytest.fixture(scope="module")
def tiny_models() -> Path:
    from diffagent.tiny import ensure_tiny_models

    return ensure_tiny_models()


def items_on(models: list[str]) -> list[PromptResponses]:
    """One prompt per model name, whose single response renders that model."""
    catalog = Catalog.from_entries(small_catalog())
    items = []
    for i, model in enumerate(models):
        apis, _ = reconstruct_candidates([f'{{"model": "{model}"}}'], catalog, "SD 1.5")
        items.append(PromptResponses(f"p{i}", f"prompt {i}", "", [api.model for api in apis], apis))
    return items


def test_runs_group_jobs_that_share_a_checkpoint(tmp_path) -> None:
    """Jobs on A, B, A, B (a LoRA on A counts as A) in runs of 2: {A, A}, {B, B}, order kept within."""
    models = ["dreamshaper_8", "realistic_vision", "pixel_art_lora", "realistic_vision"]
    jobs, _ = plan_batches(items_on(models), tmp_path, batch_size=1, k=1)
    runs = group_jobs(jobs, 2)
    assert [[job.index for job in run] for run in runs] == [[0, 2], [1, 3]]
    assert [len(run) for run in group_jobs(jobs, 3)] == [3, 1]
    with pytest.raises(ValueError, match="jobs_per_run must be >= 1, got 0"):
        group_jobs(jobs, 0)


def test_task_runner_specs() -> None:
    assert task_runner_spec("dask") == TaskRunnerSpec("dask")
    assert task_runner_spec({"kind": "process", "max_workers": 2}).max_workers == 2
    assert task_runner_spec(None) is None
    with pytest.raises(ValueError, match="unknown task runner 'ray'"):
        task_runner_spec("ray")
    with pytest.raises(ValueError, match=r"unknown task runner keys \['gpus'\]"):
        task_runner_spec({"kind": "dask", "gpus": 1})
    with pytest.raises(ValueError, match="needs the dask runner, got kind 'thread'"):
        TaskRunnerSpec("thread", address="tcp://127.0.0.1:8786")


def test_gpu_tasks_ask_dask_for_the_gpu_resource() -> None:
    import dask

    with gpu_resources(TaskRunnerSpec("dask", gpus_per_task=1)):
        assert dask.get_annotations() == {"resources": {"GPU": 1}}
    with gpu_resources(TaskRunnerSpec("thread", gpus_per_task=1)):
        assert dask.get_annotations() == {}


def rewards(jobs) -> list[list[float]]:
    return [pq.read_table(job.out).column("reward").to_pylist() for job in jobs]


def test_every_task_runner_gives_the_in_process_rewards(tmp_path, tiny_models) -> None:
    """4 prompts on 2 checkpoints, one prompt a batch, 2 batches a run: 2 runs everywhere.
    In this process the model set is built once for both runs (and not again for a second
    rollout on the same spec); on a Dask LocalCluster whose worker declares a GPU, the GPU-tagged
    runs are placed on it. Every runner writes the same rewards."""
    data = write_dabench(tmp_path / "data")
    spec = RolloutModelsSpec.for_profile("tiny", str(data), str(tmp_path / "render-cache"))
    items, k = items_on(["dreamshaper_8", "realistic_vision", "dreamshaper_8", "juggernaut_xl"]), 1

    def plan(name: str):
        return plan_batches(items, tmp_path / name, batch_size=1, k=k)[0]

    here = plan("here")
    report = dispatch_rollouts(here, spec, k, jobs_per_run=2)
    assert report["runs"] == 2 and report["model_set_builds"] == 1
    second = plan("again")
    again = dispatch_rollouts(second, spec, k, jobs_per_run=2)
    assert again["model_set_builds"] == 0 and rewards(second) == rewards(here)

    runners = {
        "thread": TaskRunnerSpec("thread", max_workers=2),
        "dask": TaskRunnerSpec("dask", max_workers=1, processes=False, worker_gpus=1, gpus_per_task=1),
        "process": TaskRunnerSpec("process", max_workers=1),
    }
    for name, runner in runners.items():
        jobs = plan(name)
        report = dispatch_rollouts(
            jobs, spec, k, jobs_per_run=2, task_runner=runner, run_task=rollout_jobs_task
        )
        assert report["runs"] == 2, name
        for got, want in zip(rewards(jobs), rewards(here), strict=True):
            assert got == pytest.approx(want), name


def test_a_task_runner_needs_the_task_to_submit(tmp_path) -> None:
    jobs, _ = plan_batches(items_on(["dreamshaper_8"]), tmp_path, batch_size=1, k=1)
    with pytest.raises(ValueError, match="a 'dask' task runner needs the rollout task"):
        dispatch_rollouts(jobs, RolloutModelsSpec("tiny"), 1, task_runner=TaskRunnerSpec("dask"))
