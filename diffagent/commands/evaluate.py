"""`diffagent evaluate`: Table 1 and Table 2 of the paper for a `train sfta` run, as a Prefect flow."""

from __future__ import annotations

import json

import typer


def evaluate(
    data: str = typer.Option(..., help="DABench folder or URL (catalog.parquet, splits/eval.parquet)."),
    agents: str = typer.Option(..., help="`diffagent train sfta` run folder or URL (sft/, rrhf/)."),
    out: str = typer.Option(..., help="Output folder or URL: scores.parquet, report.md, plots, study/."),
    coco: str = typer.Option(None, help="COCO captions JSON: a path or an fsspec/http(s) URL."),
    parti: str = typer.Option(None, help="PartiPrompts TSV: a path or an fsspec/http(s) URL."),
    n: int = typer.Option(1000, help="Prompts sampled per data set (DABench: per architecture)."),
    profile: str = typer.Option("default", help="default (real weights) | tiny (tiny random models)."),
    seeds: str = typer.Option("0,1,2", help="Render seeds per prompt, comma-separated."),
    seed: int = typer.Option(0, help="Seed for sampling prompts, bootstrap and the sheet's order."),
    architectures: str = typer.Option("SD 1.5,SDXL 1.0", help="Architectures, comma-separated."),
    systems: str = typer.Option(None, help="Systems, comma-separated (default: all)."),
    llm_base_url: str = typer.Option(None, help="OpenAI-compatible URL for prompt expansion (or env)."),
    llm_model: str = typer.Option(None, help="Model name for prompt expansion (or env)."),
    batch_size: int = typer.Option(1, help="Prompts per selection call (1: the paper's latency)."),
    size: int = typer.Option(None, help="Image side for every system (default: per architecture)."),
    study_pairs: int = typer.Option(90, help="User-study pairs per architecture."),
) -> None:
    """Evaluate DiffAgent-SFT/-RRHF against Baseline, Baseline*, DiffAgent# and our selectors."""
    from diffagent.runflow import run_flow

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        typer.echo(f"error: --seeds must be integers separated by commas, got {seeds!r}", err=True)
        raise typer.Exit(code=2) from None
    if profile not in ("default", "tiny"):
        typer.echo(f"error: unknown --profile {profile!r}; expected default or tiny", err=True)
        raise typer.Exit(code=2)
    result = run_flow(
        "evaluate",
        data=str(data),
        agents=str(agents),
        out=str(out),
        coco=coco,
        parti=parti,
        n=n,
        profile=profile,
        seeds=seed_list,
        seed=seed,
        architectures=[a.strip() for a in architectures.split(",") if a.strip()],
        systems=[s.strip() for s in systems.split(",")] if systems else None,
        llm_base_url=llm_base_url,
        llm_model=llm_model,
        batch_size=batch_size,
        size=size,
        study_pairs=study_pairs,
    )
    typer.echo(json.dumps(result, indent=2))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
