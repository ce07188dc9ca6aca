"""`diffagent train sfta`: SFT + RRHF alignment (the sftA-train flow) into a run folder."""

from __future__ import annotations

import json
from pathlib import Path

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
        None, "--work-pool", help="Prefect work pool for rollouts (e.g. cuda)."
    ),
    rollout_models: Path | None = typer.Option(
        None,
        "--rollout-models",
        help="JSON file overriding the rollout models spec: device, artifact_root, store_dir, render "
        "(RenderSettings fields), scorers (metric -> scorer folder).",
    ),
    refresh_cache: bool = typer.Option(
        False, "--refresh-cache", help="Recompute every stage even when its inputs are unchanged."
    ),
) -> None:
    """Train DiffAgent-SFT then DiffAgent-RRHF; a rerun recomputes only stages whose inputs or
    settings changed."""
    from diffagent.rrhf.pipeline import profile_settings
    from diffagent.runflow import run_flow

    try:
        settings = profile_settings(profile, base_model)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if k is not None:
        settings["k"] = k
    if max_prompts is not None:
        settings["max_prompts"] = max_prompts
    if rollout_models is not None:
        settings["rollout_models"] = json.loads(rollout_models.read_text())
    result = run_flow(
        "sftA-train",
        data=data,
        out=out,
        profile=profile,
        workers=workers,
        work_pool=work_pool,
        refresh_cache=refresh_cache,
        **settings,
    )
    typer.echo(json.dumps(result, indent=2, default=str))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("sfta")(sfta)
