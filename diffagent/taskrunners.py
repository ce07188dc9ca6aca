"""Where a flow's mapped work runs: a Prefect task runner chosen by a small JSON-able spec.

    spec = task_runner_spec("dask")                      # or {"kind": "dask", "address": "tcp://..."}
    results = submit_all(spec, some_task, [{"x": 1}, {"x": 2}], gpu=True)

- `thread`: Prefect's ThreadPoolTaskRunner (I/O-bound work, or work that holds a lock anyway).
- `process`: Prefect's ProcessPoolTaskRunner (CPU-bound work on this host).
- `dask`: prefect-dask's DaskTaskRunner, on the scheduler at `address`, or a temporary
  `distributed.LocalCluster` of `max_workers` workers (`processes=False`: threads of this process).

GPU placement uses Dask worker resources: a GPU task asks for `gpus_per_task` of the resource
`GPU`, so the scheduler only sends it to workers started with `--resources GPU=<n>` (a local
cluster declares `worker_gpus` on each of its workers). Thread and process runners ignore it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("thread", "process", "dask")
GPU_RESOURCE = "GPU"


@dataclass(frozen=True)
class TaskRunnerSpec:
    kind: str = "thread"  # thread | process | dask
    max_workers: int | None = None  # pool size; a temporary Dask cluster's worker count
    address: str | None = None  # dask: a running scheduler (None: a temporary LocalCluster)
    processes: bool = True  # temporary Dask cluster: worker processes (False: threads here)
    gpus_per_task: float = 0.0  # dask: the GPU resource each GPU task holds while it runs
    worker_gpus: float = 0.0  # temporary Dask cluster: the GPU resource each worker declares

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown task runner {self.kind!r}; expected one of {list(KINDS)}")
        if self.max_workers is not None and self.max_workers < 1:
            raise ValueError(f"task runner max_workers must be >= 1, got {self.max_workers}")
        if self.address and self.kind != "dask":
            raise ValueError(f"a scheduler address needs the dask runner, got kind {self.kind!r}")
        if self.gpus_per_task < 0 or self.worker_gpus < 0:
            raise ValueError(
                f"GPU resources must be >= 0, got gpus_per_task={self.gpus_per_task}, "
                f"worker_gpus={self.worker_gpus}"
            )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def task_runner_spec(value: str | Mapping[str, Any] | TaskRunnerSpec | None) -> TaskRunnerSpec | None:
    """A spec from a flow parameter: a kind name, its JSON form, a spec, or None (no runner)."""
    if value is None or isinstance(value, TaskRunnerSpec):
        return value
    if isinstance(value, str):
        return TaskRunnerSpec(kind=value)
    unknown = sorted(set(value) - set(TaskRunnerSpec.__dataclass_fields__))
    if unknown:
        expected = sorted(TaskRunnerSpec.__dataclass_fields__)
        raise ValueError(f"unknown task runner keys {unknown}; expected some of {expected}")
    return TaskRunnerSpec(**value)


def build_task_runner(spec: TaskRunnerSpec) -> Any:
    """The Prefect task runner a spec describes (not started: use it as a context manager)."""
    if spec.kind == "thread":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=spec.max_workers)
    if spec.kind == "process":
        from prefect.task_runners import ProcessPoolTaskRunner

        return ProcessPoolTaskRunner(max_workers=spec.max_workers)
    from prefect_dask import DaskTaskRunner

    if spec.address:
        return DaskTaskRunner(address=spec.address)
    cluster: dict[str, Any] = {"processes": spec.processes, "n_workers": spec.max_workers or 1}
    if spec.worker_gpus:
        cluster["resources"] = {GPU_RESOURCE: spec.worker_gpus}
    # One thread per worker: two model-holding tasks never share (and wait on) one model set.
    cluster["threads_per_worker"] = 1
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=cluster)


def gpu_resources(spec: TaskRunnerSpec) -> contextlib.AbstractContextManager[Any]:
    """Around a submit: a Dask annotation asking for `gpus_per_task` GPUs (nothing otherwise)."""
    if spec.kind != "dask" or not spec.gpus_per_task:
        return contextlib.nullcontext()
    import dask

    return dask.annotate(resources={GPU_RESOURCE: spec.gpus_per_task})


def submit_all(
    spec: TaskRunnerSpec, task: Any, parameters: Sequence[Mapping[str, Any]], gpu: bool = False
) -> list[Any]:
    """Run `task` once per parameter set on the spec's runner; results in input order (the first
    failure raises). `gpu`: each run holds the spec's GPU resource while it runs."""
    if not parameters:
        return []
    with build_task_runner(spec) as runner:
        futures = []
        for params in parameters:
            with gpu_resources(spec) if gpu else contextlib.nullcontext():
                futures.append(runner.submit(task, dict(params)))
        return [future.result() for future in futures]
