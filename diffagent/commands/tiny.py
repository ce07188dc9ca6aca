"""`diffagent tiny-models OUT`: write the tiny random-weight models used by tests and the demo."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def tiny_models(out: Path = typer.Argument(..., help="Folder to write the tiny models into.")) -> None:
    """Write tiny random-weight models (LLM, SD 1.5/SDXL pipelines, scorers) built from configs."""
    from diffagent.tiny import write_tiny_models

    written = write_tiny_models(out)
    typer.echo(json.dumps({name: str(path) for name, path in written.items()}, indent=2))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("tiny-models")(tiny_models)
