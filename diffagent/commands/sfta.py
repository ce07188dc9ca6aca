"""`diffagent train sfta`: SFT + RRHF alignment (the sftA-train flow) into a run folder.

Its options are `SftaTrainConfig`'s fields (diffagent/config/sfta.py): defaults and help come
from there, so the CLI, the flow's run form and `prefect.yaml` cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from diffagent.config.cli import config_options, validated
from diffagent.config.sfta import SftaTrainConfig

# CLI flag -> config field. Every other field: `--set PATH=VALUE` or `--config FILE`.
FLAGS = {
    "--data": "data",
    "--out": "out",
    "--base-model": "base_model",
    "--k": "rollout.k",
    "--max-prompts": "candidates.max_prompts",
    "--workers": "workers",
    "--work-pool": "work_pool",
    "--jobs-per-run": "jobs_per_run",
    "--refresh-cache": "refresh_cache",
}


@config_options(SftaTrainConfig, FLAGS)
def sfta(
    profile: str = typer.Option(
        "default", "--profile", help="default | tiny (tiny models, few steps and prompts) | a .yaml file."
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
    overrides: dict[str, Any] | None = None,
) -> None:
    """Train DiffAgent-SFT then DiffAgent-RRHF; a rerun recomputes only stages whose inputs,
    settings or code changed."""
    from diffagent.config.profiles import deep_merge
    from diffagent.taskrunners import task_runner_option

    values = dict(overrides or {})
    try:
        runner = task_runner_option(task_runner, dask_address)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if runner is not None:
        values["task_runner"] = runner
    if rollout_models is not None:
        values = deep_merge(values, {"rollout": {"models": json.loads(rollout_models.read_text())}})
    if render_s is not None:
        values["image_costs"] = {"render_s": render_s, "score_s": score_s, "load_s": load_s}
    config = validated(SftaTrainConfig, {**values, "profile": profile}, {"plan": plan})
    if plan:
        from diffagent.rrhf.plan import plan_markdown, run_plan

        counted, source = run_plan(config)
        typer.echo(plan_markdown(counted, f"Rollout plan (from {source})"))
        return
    from diffagent.runflow import run_flow

    result = run_flow("sftA-train", config)
    typer.echo(json.dumps(result, indent=2, default=str))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("sfta")(sfta)
