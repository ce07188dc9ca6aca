"""`diffagent dabench build`: run the dabench-build flow locally (no Prefect server needed)."""

from __future__ import annotations

import json

import typer

dabench_app = typer.Typer(no_args_is_help=True, help="Build DABench from Civitai.")


@dabench_app.command("build")
def build(
    civitai_url: str = typer.Option("https://civitai.com/api/v1", help="Civitai API base URL."),
    out: str = typer.Option(..., help="Output directory or fsspec URL (s3://...)."),
    max_models: int | None = typer.Option(None, help="Take the first N models in a stable order."),
    llm_base_url: str | None = typer.Option(None, help="OpenAI-compatible base URL for descriptions."),
    llm_model: str | None = typer.Option(None, help="LLM model name for descriptions."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Use the offline description builder."),
    concurrency: int = typer.Option(8, help="Concurrent Civitai requests."),
    timeout: float = typer.Option(30.0, help="Seconds before a Civitai request is retried."),
    backoff_base: float = typer.Option(1.0, help="First retry delay in seconds (doubles, max 30)."),
    min_downloads: int = typer.Option(100, help="Quality: minimum model downloads."),
    split_seed: int = typer.Option(0, help="Seed of the 8:1:1 split."),
    incremental: bool = typer.Option(
        False, "--incremental", help="Recrawl what is new since the last build into a new dataset version."
    ),
    base_models: str | None = typer.Option(
        None, "--base-models", help="Comma-separated Civitai base models (default: every supported one)."
    ),
    task_runner: str | None = typer.Option(
        None, "--task-runner", help="Run filter and describe shards on thread, process or dask."
    ),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="Dask scheduler for --task-runner dask (default: a local cluster)."
    ),
    shards: int | None = typer.Option(
        None, "--shards", min=1, help="Shards of filter and describe (default: one per runner worker)."
    ),
) -> None:
    """Crawl, filter, reconstruct descriptions and split; prints the counts of each stage."""
    if no_llm and (llm_base_url or llm_model):
        raise typer.BadParameter("--no-llm cannot be combined with --llm-base-url/--llm-model")
    if bool(llm_base_url) != bool(llm_model):
        raise typer.BadParameter("--llm-base-url and --llm-model go together")
    from diffagent.runflow import run_flow
    from diffagent.taskrunners import task_runner_option
    from schemas.t2i import BASE_MODELS

    try:
        runner = task_runner_option(task_runner, dask_address)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None

    chosen = [name.strip() for name in base_models.split(",") if name.strip()] if base_models else None
    unknown = [name for name in chosen or [] if name not in BASE_MODELS]
    if unknown or chosen == []:
        raise typer.BadParameter(f"--base-models {base_models!r}: unknown {unknown}; supported {BASE_MODELS}")

    results = run_flow(
        "dabench-build",
        civitai_url=civitai_url,
        out=out,
        max_models=max_models,
        llm_base_url=None if no_llm else llm_base_url,
        llm_model=None if no_llm else llm_model,
        concurrency=concurrency,
        timeout=timeout,
        backoff_base=backoff_base,
        min_downloads=min_downloads,
        split_seed=split_seed,
        incremental=incremental,
        base_models=chosen,
        task_runner=runner,
        shards=shards,
    )
    typer.echo(json.dumps({stage: r["counts"] for stage, r in results.items()}, indent=2, default=str))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.add_typer(dabench_app, name="dabench")
