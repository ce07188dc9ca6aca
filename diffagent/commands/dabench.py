"""`diffagent dabench build`: run the dabench-build flow locally (no Prefect server needed).

Its options are `DabenchBuildConfig`'s fields (diffagent/config/dabench.py).
"""

from __future__ import annotations

import json
from typing import Any

import typer

from diffagent.config.cli import config_options, validated
from diffagent.config.dabench import DabenchBuildConfig

dabench_app = typer.Typer(no_args_is_help=True, help="Build DABench from Civitai.")

# CLI flag -> config field. Every other field: `--set PATH=VALUE` or `--config FILE`.
FLAGS = {
    "--out": "out",
    "--civitai-url": "civitai_url",
    "--max-models": "max_models",
    "--max-images-per-version": "max_images_per_version",
    "--llm-base-url": "llm_base_url",
    "--llm-model": "llm_model",
    "--concurrency": "concurrency",
    "--timeout": "timeout",
    "--backoff-base": "retry.backoff_base",
    "--min-downloads": "quality.min_downloads",
    "--split-seed": "split_seed",
    "--incremental": "incremental",
    "--shards": "shards",
    "--refresh-cache": "refresh_cache",
}


@dabench_app.command("build")
@config_options(DabenchBuildConfig, FLAGS)
def build(
    profile: str = typer.Option("default", "--profile", help="default | tiny | a profile .yaml file."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Use the offline description builder."),
    base_models: str | None = typer.Option(
        None, "--base-models", help="Comma-separated Civitai base models (default: every supported one)."
    ),
    task_runner: str | None = typer.Option(
        None, "--task-runner", help="Run filter and describe shards on thread, process or dask."
    ),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="Dask scheduler for --task-runner dask (default: a local cluster)."
    ),
    overrides: dict[str, Any] | None = None,
) -> None:
    """Crawl, filter, reconstruct descriptions and split; prints the counts of each stage."""
    from diffagent.taskrunners import task_runner_option

    values = dict(overrides or {})
    if no_llm and (values.get("llm_base_url") or values.get("llm_model")):
        raise typer.BadParameter("--no-llm cannot be combined with --llm-base-url/--llm-model")
    try:
        runner = task_runner_option(task_runner, dask_address)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if runner is not None:
        values["task_runner"] = runner
    if base_models is not None:
        values["base_models"] = [name.strip() for name in base_models.split(",") if name.strip()]
    config = validated(DabenchBuildConfig, {**values, "profile": profile})
    from diffagent.runflow import run_flow

    results = run_flow("dabench-build", config)
    typer.echo(json.dumps({stage: r["counts"] for stage, r in results.items()}, indent=2, default=str))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.add_typer(dabench_app, name="dabench")
