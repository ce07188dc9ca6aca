"""`diffagent models fetch --catalog DIR VERSION_ID...`: download and verify model files into the
content-addressed store (say, to pre-fetch a GPU box), printing where each one is."""

from __future__ import annotations

import json
from pathlib import Path

import typer

models_app = typer.Typer(no_args_is_help=True, help="Model files: download, verify, store.")


@models_app.command("fetch")
def fetch(
    version_ids: list[int] = typer.Argument(..., help="Civitai model version ids."),
    catalog: Path = typer.Option(..., "--catalog", help="DABench directory or catalog.parquet."),
    store_dir: Path | None = typer.Option(
        None, "--store-dir", help="Content-addressed store (default: DIFFAGENT_CACHE_DIR/models)."
    ),
    civitai_url: str | None = typer.Option(
        None, "--civitai-url", help="API base for versions outside the catalog (default: settings)."
    ),
) -> None:
    """Download each version (a LoRA alone: its base checkpoint is a version of its own), check its
    SHA256 and print {version_id: {"path", "sha256", "format"}}; format is the key layout
    (ldm-checkpoint, kohya-lora, lycoris-locon, flux-transformer). A version outside the catalog is
    looked up on Civitai. Pickle files and wrong hashes are refused (exit 2)."""
    from diffagent.store.catalog import load_catalog
    from diffagent.store.civitai_store import CivitaiModelStore, DownloadError, HashMismatch
    from diffagent.store.layout import file_layout

    try:
        store = CivitaiModelStore(load_catalog(catalog), cache_dir=store_dir, civitai_url=civitai_url)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    fetched: dict[str, dict[str, str]] = {}
    for version_id in version_ids:
        try:
            path, sha256 = store.fetch(version_id)
        except (ValueError, DownloadError) as error:  # PickleRefused and HashMismatch are ValueErrors
            kind = "hash mismatch" if isinstance(error, HashMismatch) else "refused"
            typer.echo(f"error: version {version_id}: {kind}: {error}", err=True)
            raise typer.Exit(2) from error
        fetched[str(version_id)] = {"path": str(path), "sha256": sha256, "format": file_layout(path)}
    typer.echo(json.dumps(fetched, indent=2))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
