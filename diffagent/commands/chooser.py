"""`diffagent train chooser`: the hybrid's listwise chooser, a second adapter in an agent folder."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from diffagent.commands.errors import USER_ERRORS, fail


def _option(name: str, flag: str) -> typer.models.OptionInfo:
    """A CLI option whose default and help are the `ChooserParams` field's own."""
    from diffagent.agent.chooser_train import ChooserParams
    from diffagent.commands.options import field_option

    return field_option(ChooserParams, name, flag)


def chooser(
    agent: Path = typer.Option(..., help="Agent folder (from `train sft`): chooser/ is written into it."),
    data: str = typer.Option(..., help="DABench folder: its sft split is trained on."),
    retriever: str = typer.Option(
        None, help="Trained retriever folder whose shortlists are read (default: the untrained one)."
    ),
    shortlist: int = _option("shortlist", "--shortlist"),
    max_steps: int = _option("max_steps", "--max-steps"),
    epochs: float = _option("epochs", "--epochs"),
    batch_size: int = _option("batch_size", "--batch-size"),
    learning_rate: float = _option("learning_rate", "--learning-rate"),
    top_layers: int = _option("top_layers", "--top-layers"),
    max_minutes: float = _option("max_minutes", "--max-minutes"),
    seed: int = _option("seed", "--seed"),
) -> None:
    """Train the LLM to choose among the retriever's shortlist, read as cards (then `calibrate`)."""
    from diffagent.agent.chooser_train import ChooserParams, train_chooser

    try:
        params = ChooserParams(
            shortlist=shortlist,
            max_steps=max_steps,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            top_layers=top_layers,
            max_minutes=max_minutes,
            seed=seed,
        )
        record = train_chooser(agent, data, retriever, params)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(json.dumps({k: v for k, v in record.items() if k != "losses"}, indent=2))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("chooser")(chooser)
