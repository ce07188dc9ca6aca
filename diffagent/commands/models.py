"""`diffagent models fetch --catalog DIR VERSION_ID...`: download and verify model files into the
content-addressed store (say, to pre-fetch a GPU box), printing where each one is; with
`--layout comfyui|a1111|forge|diffusers --into DIR`, also put every file the answers' exports name
where that tool looks for it (diffagent.store.tool_layout)."""

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
    layout: str | None = typer.Option(
        None,
        "--layout",
        help="comfyui | a1111 | forge | diffusers: also lay the files out for that tool under --into.",
    ),
    into: Path | None = typer.Option(None, "--into", help="The tool's folder (ComfyUI's, A1111's root)."),
    hub_url: str | None = typer.Option(
        None, "--hub-url", help="Hub endpoint of companion files (default: HF_ENDPOINT or huggingface.co)."
    ),
) -> None:
    """Download each version (a LoRA alone: its base checkpoint is a version of its own), check its
    SHA256 and print {version_id: {"path", "sha256", "format"}}; format is the key layout
    (ldm-checkpoint, kohya-lora, lycoris-locon, flux-transformer). A version outside the catalog is
    looked up on Civitai. Pickle files and wrong hashes are refused (exit 2).

    With --layout and --into: print {"layout", "into", "files": [{"path", "name", "sha256", "format",
    "role", "source", "placed"}]}, every file under the name the exports use, in the tool's folder; a
    Flux checkpoint brings its T5-XXL, CLIP-L and VAE (from the hub)."""
    from diffagent.store.catalog import load_catalog
    from diffagent.store.civitai_store import CivitaiModelStore, DownloadError, HashMismatch
    from diffagent.store.layout import file_layout

    if (layout is None) != (into is None):
        raise typer.BadParameter("--layout and --into go together")
    try:
        store = CivitaiModelStore(load_catalog(catalog), cache_dir=store_dir, civitai_url=civitai_url)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    if layout is not None and into is not None:
        typer.echo(json.dumps(lay_out_or_exit(store, version_ids, layout, into, hub_url), indent=2))
        return
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


def lay_out_or_exit(store, version_ids: list[int], layout: str, into: Path, hub_url: str | None) -> dict:
    """`tool_layout.lay_out` as JSON; a refusal is printed to stderr and exits 2 (a bad layout: 1)."""
    from diffagent.store.civitai_store import DownloadError, HashMismatch
    from diffagent.store.hub import hub_url as endpoint
    from diffagent.store.tool_layout import LAYOUTS, as_json, lay_out

    if layout not in LAYOUTS:
        raise typer.BadParameter(f"unknown --layout {layout!r}; expected one of {LAYOUTS}")
    try:
        placed = lay_out(store, version_ids, layout, into, endpoint(hub_url))
    except (ValueError, DownloadError, FileExistsError) as error:
        kind = "hash mismatch" if isinstance(error, HashMismatch) else "refused"
        typer.echo(f"error: {kind}: {error}", err=True)
        raise typer.Exit(2) from error
    return {"layout": layout, "into": str(into), "files": as_json(placed)}


def answer_versions(apis: list) -> list[int]:
    """The Civitai versions answers' exports name: each model, and a LoRA's base checkpoint (a
    default API's base model, BASE_MODEL_VERSION_ID, is no Civitai file)."""
    from schemas.t2i import BASE_MODEL_VERSION_ID

    versions: list[int] = []
    for api in apis:
        for version in (api.version_id, api.base_checkpoint_version_id if api.type == "LORA" else None):
            if version not in (None, BASE_MODEL_VERSION_ID) and version not in versions:
                versions.append(version)
    return versions


def fetch_for_answers(apis: list, catalog: str, layout: str, into: Path) -> None:
    """`select --fetch`: lay out the answers' files; the JSON goes to stderr (stdout is the answers)."""
    import sys

    from diffagent.store.catalog import load_catalog
    from diffagent.store.civitai_store import CivitaiModelStore

    store = CivitaiModelStore(load_catalog(catalog))
    laid_out = lay_out_or_exit(store, answer_versions(apis), layout, into, None)
    sys.stderr.write(json.dumps(laid_out, indent=2) + "\n")


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
