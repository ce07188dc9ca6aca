"""`diffagent train retriever`: the trained retrieval selector (sft split -> model), validated on rrhf."""

from __future__ import annotations

import json

import typer

from diffagent.retriever.config import setting


def _option(flag: str, name: str) -> typer.models.OptionInfo:
    """A CLI option whose default and help are the `RetrieverConfig` field's own."""
    default, help_text = setting(name)
    return typer.Option(default, flag, help=help_text)


def retriever(
    data: str = typer.Option(..., "--data", help="DABench folder or URL (catalog.parquet, splits/)."),
    out: str = typer.Option(..., "--out", help="Retriever folder or URL to write."),
    base_embedder: str = typer.Option(
        None, "--base-embedder", help="Sentence encoder: hub id or folder (default all-MiniLM-L6-v2)."
    ),
    epochs: int = _option("--epochs", "epochs"),
    folds: int = _option("--folds", "folds"),
    seed: int = _option("--seed", "seed"),
) -> None:
    """Train the retriever: per-model vectors over the sentence encoder, lexical signals, fusion,
    and a reranker over the fused candidates."""
    from diffagent.commands.errors import USER_ERRORS, fail
    from diffagent.retriever.train import RetrieverConfig, train_retriever

    if epochs < 0:
        fail(f"--epochs must be 0 or more, got {epochs}")
    if folds == 1 or folds < 0:
        fail(f"--folds must be 0 (no reranker) or at least 2, got {folds}")
    try:
        config = RetrieverConfig(epochs=epochs, folds=folds, seed=seed)
        manifest = train_retriever(data, out, base_embedder, config)
    except USER_ERRORS as error:
        fail(error)
    shown = {k: manifest[k] for k in ("validation", "weights", "pairs", "train_seconds")}
    typer.echo(json.dumps(shown, indent=2))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("retriever")(retriever)
