"""Runs of a Prefect deployment on a work pool, started from a flow and waited for with
Prefect's own wait (flow-run events, no polling here): what the sftA-train parent uses for its
rollout runs (`diffagent.rrhf.dispatch`) and its GPU stages (`diffagent.rrhf.pipeline`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def run_deployment_and_wait(
    deployment: str, parameter_sets: Sequence[dict[str, Any]], timeout_s: float | None = None
) -> list[Any]:
    """One run of `deployment` per set of (JSON) parameters, all started before any is waited
    for; returns the finished flow runs in that order, or raises naming each run that did not
    complete. Called inside a flow, each run shows as a child of it. `timeout_s` bounds the
    wait (None: no bound)."""
    from prefect.deployments import run_deployment
    from prefect.utilities.asyncutils import run_coro_as_sync

    started = [run_deployment(deployment, parameters=parameters, timeout=0) for parameters in parameter_sets]
    finished = run_coro_as_sync(wait_for_all([run.id for run in started], timeout_s))
    failed = [f"{run.name} ({run.state_name})" for run in finished if not run.state.is_completed()]
    if failed:
        raise RuntimeError(f"runs of {deployment} did not complete: {failed}")
    return finished


async def wait_for_all(run_ids: Sequence[Any], timeout_s: float | None) -> list[Any]:
    """Every flow run in a final state (Prefect's `wait_for_flow_run`, all at once)."""
    import asyncio

    from prefect.flow_runs import wait_for_flow_run

    return list(await asyncio.gather(*(wait_for_flow_run(run_id, timeout=timeout_s) for run_id in run_ids)))
