"""`diffagent train sfta`: SFT + RRHF alignment (the sftA-train flow) into a run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def sfta(
    data: str = typer.Option(..., "--data", help="DABench folder or URL (catalog.parquet, splits/)."),
    out: str = typer.Option(..., "--out", help="Run folder or URL: sft/, rrhf/, rollouts.parquet."),
    base_model: str | None = typer.Option(None, "--base-model", help="Hub id or folder of the base LLM."),
    profile: str = typer.Option("default", "--profile", help="'tiny': tiny models, few steps and prompts."),
    k: int | None = typer.Option(None, "--k", help="Renders per response (default 10; tiny 2)."),
    max_prompts: int | None = typer.Option(None, "--max-prompts", help="Use only the first N rrhf prompts."),
    workers: int = typer.Option(0, "--workers", help="Rollout process-pool size (0: in this process)."),
    work_pool: str | None = typer.Option(
        None, "--work-pool", help="Prefect work pool for the GPU stages and rollouts (e.g. cuda)."
    ),
    jobs_per_run: int = typer.Option(
        8, "--jobs-per-run", help="Rollout batches one work-pool run (or task-runner task) carries."
    ),
    task_runner: str | None = typer.Option(
        None, "--task-runner", help="Run rollout batches on a task runner: thread, process or dask."
    ),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="Dask scheduler for --task-runner dask (default: a local cluster)."
    ),
    rollout_models: Path | None = typer.Option(
        None,
        "--rollout-models",
        help="JSON file overriding the rollout models spec: device, artifact_root, store_dir, render "
        "(RenderSettings fields), scorers (metric -> scorer folder).",
    ),
    plan: bool = typer.Option(
        False, "--plan", help="Print the rollout's counts (and GPU hours given costs), run nothing."
    ),
    render_s: float | None = typer.Option(None, "--render-s", help="Measured GPU seconds per render."),
    score_s: float = typer.Option(0.0, "--score-s", help="Measured GPU seconds per image, all scorers."),
    load_s: float = typer.Option(0.0, "--load-s", help="Measured seconds per model load."),
    refresh_cache: bool = typer.Option(
        False, "--refresh-cache", help="Recompute every stage even when its inputs are unchanged."
    ),
) -> None:
    """Train DiffAgent-SFT then DiffAgent-RRHF; a rerun recomputes only stages whose inputs or
    settings changed."""
    from diffagent.rrhf.pipeline import profile_parameters, profile_settings
    from diffagent.taskrunners import task_runner_option

    try:
        settings = profile_parameters(profile) if plan else profile_settings(profile, base_model)
        runner = task_runner_option(task_runner, dask_address)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if k is not None:
        settings["k"] = k
    if max_prompts is not None:
        settings["max_prompts"] = max_prompts
    if rollout_models is not None:
        settings["rollout_models"] = json.loads(rollout_models.read_text())
    costs = None if render_s is None else {"render_s": render_s, "score_s": score_s, "load_s": load_s}
    if plan:
        _print_plan(data, out, jobs_per_run, costs, settings)
        return
    from diffagent.runflow import run_flow

    result = run_flow(
        "sftA-train",
        data=data,
        out=out,
        profile=profile,
        workers=workers,
        work_pool=work_pool,
        jobs_per_run=jobs_per_run,
        task_runner=runner,
        image_costs=costs,
        refresh_cache=refresh_cache,
        **settings,
    )
    typer.echo(json.dumps(result, indent=2, default=str))


def _print_plan(
    data: str, out: str, jobs_per_run: int, costs: dict[str, float] | None, settings: dict[str, Any]
) -> None:
    """The flow's plan artifact, printed: counts only, nothing trained or rendered."""
    from diffagent.rrhf.plan import ImageCosts, plan_for_run, plan_markdown

    counted, source = plan_for_run(
        data,
        out,
        settings.get("k", 10),
        settings.get("batch_size", 4),
        jobs_per_run,
        settings.get("max_prompts"),
        settings.get("candidates"),
        settings.get("min_responses", 3),
        ImageCosts(**costs) if costs else None,
    )
    typer.echo(plan_markdown(counted, f"Rollout plan (from {source})"))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("sfta")(sfta)
