"""The `sftA-train` flow: SFT -> candidates -> reward rollouts -> RRHF (paper section 3.2).

Writes under `out`: sft/ (DiffAgent-SFT), candidates.parquet, rollouts/ (parts), render-cache/
(PNGs) and rollouts.parquet, rrhf/ (DiffAgent-RRHF), and stages/<stage>.json when a stage finishes.
A rerun skips every finished stage, and an interrupted rollout skips the batches already written.
Rollouts render with `diffagent.render` over the DABench catalog (render cache: render-cache/).
Rollout batches run in this process (`workers=0`), in a process pool (`workers>0`), or as Prefect
runs of `rrhf-rollout` on a work pool (`work_pool`, e.g. `cuda` in production).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from diffagent.rrhf.candidates import CandidateParams
from diffagent.rrhf.rollout import collect_parts, plan_batches
from diffagent.rrhf.rollout_models import RolloutModelsSpec, run_jobs_with_spec
from diffagent.rrhf.stages import read_candidates, write_json
from diffagent.rrhf.train import RRHFParams
from tasks.agent import sft_train
from tasks.sfta import candidates_task, rollout_jobs_task, rrhf_train_task


def stage_done(out: Path, stage: str) -> dict[str, Any] | None:
    marker = out / "stages" / f"{stage}.json"
    return json.loads(marker.read_text()) if marker.exists() else None


def finish_stage(out: Path, stage: str, result: dict[str, Any], started: float) -> dict[str, Any]:
    result = {**result, "wall_s": round(time.perf_counter() - started, 3)}
    write_json(out / "stages" / f"{stage}.json", result)
    return result


def rollout_spec(
    profile: str, data: str, run: Path, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The rollout models spec as JSON: the profile's renderer over the DABench catalog, with its
    render cache under the run folder (a rerun re-renders nothing), updated by `overrides` (whose
    `render` settings are merged into the profile's)."""
    spec = RolloutModelsSpec.for_profile(profile, data, str(run / "render-cache")).to_json()
    unknown = sorted(set(overrides or {}) - set(spec))
    if unknown:
        raise ValueError(f"unknown rollout_models keys {unknown}; expected some of {sorted(spec)}")
    merged = {**spec, **(overrides or {})}
    merged["render"] = {**spec["render"], **(overrides or {}).get("render", {})}  # keep the profile's caps
    return RolloutModelsSpec(**merged).to_json()


def dispatch_rollouts(
    jobs: list[dict[str, Any]],
    models: dict[str, Any],
    k: int,
    base_seed: int,
    workers: int,
    work_pool: str | None,
) -> None:
    if not jobs:
        return
    if work_pool:
        from prefect.deployments import run_deployment

        runs = [
            run_deployment(
                f"rrhf-rollout/rrhf-rollout-{work_pool}",
                parameters={"jobs": [job], "models": models, "k": k, "base_seed": base_seed},
                timeout=0,
            )
            for job in jobs
        ]
        _wait_for_runs([run.id for run in runs])
    elif workers > 0:
        chunks = [jobs[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(
                pool.map(run_jobs_with_spec, chunks, [models] * workers, [k] * workers, [base_seed] * workers)
            )
    else:
        rollout_jobs_task(jobs, models, k, base_seed)


def _wait_for_runs(run_ids: list[Any], poll_s: float = 5.0) -> None:
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


@flow(name="sftA-train", log_prints=True)
def sfta_train(
    data: str,
    out: str,
    base_model: str = "meta-llama/Llama-2-7b-hf",
    profile: str = "default",
    sft: dict[str, Any] | None = None,
    candidates: dict[str, Any] | None = None,
    max_prompts: int | None = None,
    min_responses: int = 3,
    base_models: dict[str, str] | None = None,
    k: int = 10,
    batch_size: int = 4,
    base_seed: int = 0,
    rollout_models: dict[str, Any] | None = None,
    workers: int = 0,
    work_pool: str | None = None,
    rrhf: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train DiffAgent-SFT and DiffAgent-RRHF on the DABench folder `data` into the run folder `out`."""
    logger = get_run_logger()
    run = Path(out)
    run.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}

    started = time.perf_counter()
    if (done := stage_done(run, "sft")) is None:
        sft_params = {"max_steps": -1, "epochs": 3.0, "learning_rate": 2e-4, "batch_size": 8, **(sft or {})}
        sft_train(data, base_model, str(run / "sft"), **sft_params)
        done = finish_stage(run, "sft", {"agent": str(run / "sft")}, started)
    results["sft"] = done

    started = time.perf_counter()
    if (done := stage_done(run, "candidates")) is None:
        params = asdict(CandidateParams(**(candidates or {})))
        stats = candidates_task(
            str(run / "sft"),
            data,
            str(run / "candidates.parquet"),
            params,
            max_prompts,
            min_responses,
            base_models,
        )
        done = finish_stage(run, "candidates", stats, started)
    logger.info("SFT hallucination rate on the rrhf split: %.3f", done["hallucination_rate"])
    results["candidates"] = done

    started = time.perf_counter()
    if (done := stage_done(run, "rollouts")) is None:
        spec = rollout_spec(profile, data, run, rollout_models)
        items = read_candidates(run / "candidates.parquet")
        jobs, finished = plan_batches(items, run / "rollouts", batch_size, k, base_seed)
        logger.info("rollout: %d batches to run, %d already done", len(jobs), len(finished))
        dispatch_rollouts([asdict(job) for job in jobs], spec, k, base_seed, workers, work_pool)
        jobs_left, parts = plan_batches(items, run / "rollouts", batch_size, k, base_seed)
        if jobs_left:
            raise RuntimeError(f"{len(jobs_left)} rollout batches have no part file after dispatch")
        table = collect_parts(parts, run / "rollouts.parquet")
        done = finish_stage(
            run,
            "rollouts",
            {
                "rows": table.num_rows,
                "prompts": len(items),
                "k": k,
                "batches": len(parts),
                "rendered_batches": len(jobs),
            },
            started,
        )
    results["rollouts"] = done

    started = time.perf_counter()
    if (done := stage_done(run, "rrhf")) is None:
        params = asdict(RRHFParams(**(rrhf or {})))
        manifest = rrhf_train_task(str(run / "sft"), str(run / "rollouts.parquet"), str(run / "rrhf"), params)
        done = finish_stage(
            run,
            "rrhf",
            {"agent": str(run / "rrhf"), "losses": manifest["losses"], "train_loss": manifest["train_loss"]},
            started,
        )
    results["rrhf"] = done
    return results
