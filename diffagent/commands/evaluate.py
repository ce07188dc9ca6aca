"""`diffagent evaluate`: Table 1 and Table 2 of the paper for a `train sfta` run, as a Prefect flow.

Its options are `EvaluateConfig`'s fields (diffagent/config/evaluate.py).
"""

from __future__ import annotations

import json
from typing import Any

import typer

from diffagent.config.cli import config_options, option_help, validated
from diffagent.config.evaluate import EvaluateConfig

# CLI flag -> config field. Every other field: `--set PATH=VALUE` or `--config FILE`.
FLAGS = {
    "--data": "data",
    "--agents": "agents",
    "--out": "out",
    "--coco": "coco",
    "--parti": "parti",
    "--n": "n",
    "--seed": "seed",
    "--llm-base-url": "llm_base_url",
    "--llm-model": "llm_model",
    "--batch-size": "batch_size",
    "--size": "size",
    "--study-pairs": "study_pairs",
}


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [item.strip() for item in text.split(",") if item.strip()]


@config_options(EvaluateConfig, FLAGS)
def evaluate(
    profile: str = typer.Option(
        "default", "--profile", help="default (real weights) | tiny (tiny random models) | a .yaml file."
    ),
    seeds: str | None = typer.Option(None, help=f"{option_help(EvaluateConfig, 'seeds')}, comma-separated."),
    architectures: str | None = typer.Option(
        None, help=f"{option_help(EvaluateConfig, 'architectures')}, comma-separated."
    ),
    systems: str | None = typer.Option(
        None, help=f"{option_help(EvaluateConfig, 'systems')}, comma-separated."
    ),
    overrides: dict[str, Any] | None = None,
) -> None:
    """Evaluate DiffAgent-SFT/-RRHF against Baseline, Baseline*, DiffAgent# and our selectors."""
    values = dict(overrides or {})
    if seeds is not None:
        try:
            values["seeds"] = [int(s) for s in _names(seeds) or []]
        except ValueError:
            raise typer.BadParameter(f"--seeds must be integers separated by commas, got {seeds!r}") from None
    for name, text in (("architectures", architectures), ("systems", systems)):
        if text is not None:
            values[name] = _names(text)
    config = validated(EvaluateConfig, {**values, "profile": profile})
    from diffagent.runflow import run_flow

    typer.echo(json.dumps(run_flow("evaluate", config), indent=2))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
