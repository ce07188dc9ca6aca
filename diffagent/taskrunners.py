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

Work that maps over a list (DABench's filter and describe) cuts it into `shard_ranges` and runs
them with `run_shards`: here, one after another, when there is no runner.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
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


def task_runner_option(kind: str | None, address: str | None) -> dict[str, Any] | None:
    """The spec JSON a flow takes, from the CLI's `--task-runner KIND [--dask-address URL]`."""
    if kind is None:
        if address:
            raise ValueError(f"--dask-address {address} needs --task-runner dask")
        return None
    spec = task_runner_spec({"kind": kind, "address": address})
    return spec.to_json() if spec else None


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


def this_prefect_api() -> contextlib.AbstractContextManager[Any]:
    """While a runner starts and submits: this process's temporary Prefect server (when it runs
    on one) as the API of every process the runner spawns. Prefect tells a worker process only
    the settings that were set, and the temporary server's address is not one, so each process
    pool or Dask worker process started a temporary server of its own (20-30 s each here, and
    its task runs landed there, not in this run). A configured PREFECT_API_URL is left alone."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()  # the one `get_client` starts when no API is configured
    if PREFECT_API_URL.value() or not server.running:
        return contextlib.nullcontext()
    return temporary_settings(updates={PREFECT_API_URL: server.api_url})


def submit_all(
    spec: TaskRunnerSpec, task: Any, parameters: Sequence[Mapping[str, Any]], gpu: bool = False
) -> list[Any]:
    """Run `task` once per parameter set on the spec's runner; results in input order (the first
    failure raises). `gpu`: each run holds the spec's GPU resource while it runs."""
    if not parameters:
        return []
    with this_prefect_api(), build_task_runner(spec) as runner:
        futures = []
        for params in parameters:
            with gpu_resources(spec) if gpu else contextlib.nullcontext():
                futures.append(runner.submit(task, dict(params)))
        return [future.result() for future in futures]


def shard_count(spec: TaskRunnerSpec | None, shards: int | None) -> int:
    """`shards`, or by default one shard here and one per worker on a runner (its `max_workers`,
    else this host's CPU count)."""
    if shards is not None:
        if shards < 1:
            raise ValueError(f"shards must be >= 1, got {shards}")
        return shards
    if spec is None:
        return 1
    return spec.max_workers or os.cpu_count() or 1


def shard_ranges(count: int, shards: int) -> list[tuple[int, int]]:
    """`[start, stop)` of at most `shards` contiguous, non-empty slices of `count` items, sizes
    differing by at most one (none for no items)."""
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    parts = min(shards, count)
    bounds = [index * count // parts for index in range(parts + 1)] if parts else []
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def run_shards(
    spec: TaskRunnerSpec | None,
    task: Any,
    local: Callable[..., Any],
    parameters: Sequence[Mapping[str, Any]],
) -> list[Any]:
    """Each shard's result in order: `task` on the spec's runner, or `local(**params)` here, one
    shard after another, when there is none (the same function under the task, or one that
    reuses what this process already read)."""
    if spec is None:
        return [local(**params) for params in parameters]
    if task is None:
        raise ValueError(f"a {spec.kind!r} task runner needs the shard task to submit")
    return submit_all(spec, task, parameters)
