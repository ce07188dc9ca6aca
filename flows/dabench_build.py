"""The `dabench-build` flow: crawl Civitai -> filter -> reconstruct descriptions -> split 8:1:1.

Wiring only: every setting is a field of `DabenchBuildConfig` (diffagent/config/dabench.py);
secrets are not (the Civitai key and the LLM key come from the environment or a Prefect Secret
block named by `civitai_key_block`). A rerun into the same `out` resumes an interrupted crawl
and recomputes nothing whose inputs did not change.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from diffagent.config.dabench import DabenchBuildConfig
from diffagent.dabench.crawl import CrawlParams
from diffagent.dabench.derive import FilterParams
from diffagent.dabench.stages import DescribeStage, FilterStage, SplitStage
from diffagent.stagecache import run_stage
from diffagent.taskrunners import task_runner_spec
from tasks.dabench import (
    civitai_key_task,
    crawl_task,
    describe_task,
    filter_task,
    split_task,
    summary_task,
)


@flow(name="dabench-build", log_prints=True)
def dabench_build(config: DabenchBuildConfig) -> dict[str, dict[str, Any]]:
    """Build DABench under `config.out` (a local path or fsspec URL); returns each stage's counts.

    `incremental` (the scheduled recrawl): on a finished build, fetch only what is new, newest
    first, into a new raw increment, and publish a new dataset version (`versions/`, `latest.json`).
    `task_runner` runs the filter's and the describer's `shards` there; neither changes an output,
    nor a stage's cache key.
    """
    civitai_key_task(config.civitai_key_block)
    out, refresh, runner = config.out, config.refresh_cache, task_runner_spec(config.task_runner)
    types, base_models = tuple(config.types), tuple(config.base_models)
    results: dict[str, dict[str, Any]] = {}
    results["crawl"] = crawl_task(
        out,
        config.civitai_url,
        CrawlParams(
            types, base_models, config.max_models, max_images_per_version=config.max_images_per_version
        ),
        config.concurrency,
        config.timeout,
        config.retry,
        config.show_progress,
        config.incremental,
    )
    filtered = FilterStage(
        out,
        results["crawl"]["fingerprint"],
        FilterParams(types, base_models, config.quality),
        runner,
        config.shards,
    )
    results["filter"] = run_stage(filter_task, filtered, refresh)
    described = DescribeStage(
        out,
        results["filter"]["fingerprint"],
        config.llm_base_url,
        config.llm_model,
        show_progress=config.show_progress,
        task_runner=runner,
        shards=config.shards,
    )
    results["describe"] = run_stage(describe_task, described, refresh)
    split = SplitStage(out, results["describe"]["fingerprint"], config.split_seed)
    results["split"] = run_stage(split_task, split, refresh)
    summary_task(out, results)
    get_run_logger().info("DABench written to %s: %s", out, results["split"]["counts"])
    return results
