"""`diffagent train sfta`: SFT + RRHF alignment (the sftA-train flow) into a run folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

# Small enough that the whole tiny run finishes on a laptop CPU in a few minutes.
TINY = {
    "sft": {"max_steps": 40, "learning_rate": 3e-3, "batch_size": 8},
    "candidates": {"num_samples": 2, "num_beam_groups": 2, "max_new_tokens": 96, "temperature": 1.0},
    "max_prompts": 4,
    "k": 2,
    "batch_size": 2,
    "rrhf": {
        "max_steps": 12,
        "learning_rate": 2e-3,
        "full": True,
        "max_length": 512,
        "max_prompt_length": 384,
    },
}


def sfta(
    data: Path = typer.Option(..., "--data", help="DABench folder (catalog.parquet, splits/)."),
    out: Path = typer.Option(..., "--out", help="Run folder: sft/, rrhf/, rollouts.parquet."),
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
) -> None:
    """Train DiffAgent-SFT then DiffAgent-RRHF; a rerun continues from the last finished stage."""
    from flows.sfta_train import sfta_train

    if profile not in ("default", "tiny"):
        raise typer.BadParameter(f"unknown profile {profile!r}; expected 'default' or 'tiny'")
    settings: dict = {}
    if profile == "tiny":
        from diffagent.tiny import ensure_tiny_models

        settings = json.loads(json.dumps(TINY))
        base_model = base_model or str(ensure_tiny_models() / "llm")
    if base_model is None:
        raise typer.BadParameter("--base-model is required outside --profile tiny")
    if k is not None:
        settings["k"] = k
    if max_prompts is not None:
        settings["max_prompts"] = max_prompts
    if rollout_models is not None:
        settings["rollout_models"] = json.loads(rollout_models.read_text())
    result = sfta_train(
        data=str(data),
        out=str(out),
        base_model=base_model,
        profile=profile,
        workers=workers,
        work_pool=work_pool,
        **settings,
    )
    typer.echo(json.dumps(result, indent=2, default=str))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("sfta")(sfta)
