"""The `dabench-build` flow: crawl Civitai -> filter -> reconstruct descriptions -> split 8:1:1.

Every setting is a parameter; secrets are not (the Civitai key and the LLM key come from the
environment or a Prefect Secret block named by `civitai_key_block`). A rerun into the same `out`
resumes an interrupted crawl and recomputes nothing whose inputs did not change.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from diffagent.civitai.client import RetryPolicy
from diffagent.dabench.crawl import CrawlParams
from diffagent.dabench.derive import FilterParams
from diffagent.dabench.quality import QualityThresholds
from diffagent.dabench.stages import DescribeStage, FilterStage, SplitStage
from diffagent.stagecache import run_stage
from diffagent.storage import ArtifactStore
from diffagent.taskrunners import task_runner_spec
from schemas.dabench import REJECT_SCHEMA
from schemas.t2i import BASE_MODELS, MODEL_TYPES
from tasks.dabench import crawl_task, describe_task, filter_task, split_task


def _load_secret_block(block_name: str | None) -> None:
    """Put a Prefect Secret block's value where settings read the key, for this process only."""
    if not block_name or os.environ.get("CIVITAI_API_KEY"):
        return
    from prefect.blocks.system import Secret

    os.environ["CIVITAI_API_KEY"] = Secret.load(block_name).get()


def stage_table(results: dict[str, dict[str, Any]]) -> str:
    lines = ["| stage | cached | counts |", "|---|---|---|"]
    for stage, result in results.items():
        counts = ", ".join(
            f"{k}={v}" for k, v in sorted(result["counts"].items()) if not k.startswith("reject:")
        )
        lines.append(f"| {stage} | {result.get('cached', False)} | {counts} |")
    return "\n".join(lines)


def rejects_table(out: str) -> str:
    rejects = ArtifactStore(out).read_table("rejects.parquet", REJECT_SCHEMA)
    counts = Counter(
        zip(rejects.column("stage").to_pylist(), rejects.column("reason").to_pylist(), strict=True)
    )
    lines = ["| stage | reason | rows |", "|---|---|---|"]
    lines += [f"| {stage} | {reason} | {n} |" for (stage, reason), n in sorted(counts.items())]
    return "\n".join(lines)


@flow(name="dabench-build", log_prints=True)
def dabench_build(
    civitai_url: str = "https://civitai.com/api/v1",
    out: str = "runs/dabench",
    max_models: int | None = None,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    types: list[str] | None = None,
    base_models: list[str] | None = None,
    min_downloads: int = QualityThresholds.min_downloads,
    min_rating_count: int = QualityThresholds.min_rating_count,
    min_rating: float = QualityThresholds.min_rating,
    min_thumbs_up: int = QualityThresholds.min_thumbs_up,
    min_thumbs_up_ratio: float = QualityThresholds.min_thumbs_up_ratio,
    split_seed: int = 0,
    concurrency: int = 8,
    timeout: float = 30.0,
    max_attempts: int = 8,
    backoff_base: float = 1.0,
    civitai_key_block: str | None = None,
    incremental: bool = False,
    show_progress: bool = True,
    refresh_cache: bool = False,
    task_runner: str | dict[str, Any] | None = None,
    shards: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Build DABench under `out` (a local path or fsspec URL); returns each stage's counts.

    `types` and `base_models` default to Checkpoint + LORA and every supported base model
    (schemas.t2i.BASE_MODELS: SD 1.x, SDXL 1.0, Pony, Illustrious, NoobAI, Flux.1 D / S).
    `incremental` (the scheduled recrawl): on a finished build, fetch only what is new, newest
    first, into a new raw increment, and publish a new dataset version (`versions/`, `latest.json`).
    `refresh_cache` recomputes filter, describe and split even when their inputs are unchanged.
    `task_runner` ("thread", "process", "dask" or a `diffagent.taskrunners.TaskRunnerSpec` JSON)
    runs the filter's and the describer's `shards` (default: one per worker) there; None runs
    them in this process. Neither changes an output, nor a stage's cache key.
    """
    _load_secret_block(civitai_key_block)
    types = list(types or MODEL_TYPES)
    base_models = list(base_models or BASE_MODELS)
    crawl_params = CrawlParams(tuple(types), tuple(base_models), max_models)
    filter_params = FilterParams(
        tuple(types),
        tuple(base_models),
        QualityThresholds(min_downloads, min_rating_count, min_rating, min_thumbs_up, min_thumbs_up_ratio),
    )
    retry = RetryPolicy(max_attempts=max_attempts, backoff_base=backoff_base)
    runner = task_runner_spec(task_runner)
    results: dict[str, dict[str, Any]] = {}
    results["crawl"] = crawl_task(
        out, civitai_url, crawl_params, concurrency, timeout, retry, show_progress, incremental
    )
    filtered = FilterStage(out, results["crawl"]["fingerprint"], filter_params, runner, shards)
    results["filter"] = run_stage(filter_task, filtered, refresh_cache)
    described = DescribeStage(
        out,
        results["filter"]["fingerprint"],
        llm_base_url,
        llm_model,
        show_progress=show_progress,
        task_runner=runner,
        shards=shards,
    )
    results["describe"] = run_stage(describe_task, described, refresh_cache)
    split = SplitStage(out, results["describe"]["fingerprint"], split_seed)
    results["split"] = run_stage(split_task, split, refresh_cache)
    ArtifactStore(out).write_json("summary.json", results)
    create_markdown_artifact(
        key="dabench-stage-counts",
        markdown=stage_table(results),
        description=f"DABench build counts per stage ({out})",
    )
    create_markdown_artifact(
        key="dabench-rejects",
        markdown=rejects_table(out),
        description="Rejected records per stage and reason",
    )
    get_run_logger().info("DABench written to %s: %s", out, results["split"]["counts"])
    return results
