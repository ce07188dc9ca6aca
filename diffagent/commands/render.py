"""`diffagent render` (T2I API + prompt + seeds -> PNGs) and `diffagent score` (images -> JSON scores)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from diffagent.answers import assemble_api
from diffagent.catalog import Catalog, load_catalog
from schemas.t2i import BASE_MODEL_VERSION_ID, T2IApi


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise typer.BadParameter(f"--seeds must be comma-separated integers, got {text!r}") from error
    if not seeds:
        raise typer.BadParameter(f"--seeds names no seed: {text!r}")
    return seeds


def read_api(text: str, catalog: Catalog, where: str) -> T2IApi:
    """The API to render from `--api`'s JSON: what `diffagent select` prints (one answer
    `{"api": ..., "score": ...}`, or a ranked list of them: the first is rendered), a bare T2I API
    with Civitai ids (checked against the catalog), or a paper-style API without ids, whose model
    facts and ids come from the catalog by `model`."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--api {where} is not JSON: {error}") from error
    if isinstance(value, list):
        if not value:
            raise ValueError(f"--api {where} is an empty list")
        value = value[0]
    if isinstance(value, dict) and "api" in value:
        if value["api"] is None:
            raise ValueError(f"--api {where}: the answer names no catalog model (text {value.get('text')!r})")
        value = value["api"]
    if not isinstance(value, dict):
        raise ValueError(f"--api {where} must hold a JSON object, got {type(value).__name__}")
    if "version_id" not in value:
        return assemble_api(value, catalog)
    api = T2IApi.model_validate(value)
    if api.version_id != BASE_MODEL_VERSION_ID and not any(
        e.version_id == api.version_id for e in catalog.values()
    ):
        raise ValueError(
            f"the API names version {api.version_id} ({api.model!r}), which is not in {catalog.source}"
        )
    return api


def render(
    prompt: str = typer.Argument(..., help="The text-to-image prompt."),
    api: Path = typer.Option(
        ...,
        "--api",
        help="JSON: `diffagent select`'s output (one answer or a list), a T2I API (version_id 0 is "
        "the base model), or an API without ids (resolved by `model` in the catalog).",
    ),
    catalog: str = typer.Option(
        ..., "--catalog", help="DABench directory or catalog.parquet: a path or fsspec URL."
    ),
    seeds: str = typer.Option("0", "--seeds", help="Comma-separated seeds, one image each."),
    out: Path = typer.Option(..., "--out", help="Folder for seed-<seed>.png files."),
    negative_prompt: str = typer.Option("", "--negative-prompt"),
    profile: str = typer.Option("default", "--profile", help="default (real weights) or tiny."),
    artifact_root: str | None = typer.Option(
        None, "--artifact-root", help="Render cache: path or fsspec URL."
    ),
) -> None:
    """Render a T2I API for a prompt, one PNG per seed (byte-identical across runs)."""
    from diffagent.profiles import load_renderer
    from diffagent.render.cache import png_bytes

    seed_list = _parse_seeds(seeds)
    if not api.is_file():
        raise typer.BadParameter(f"no such file: {str(api)!r}", param_hint="--api")
    entries = load_catalog(catalog, samples=False)
    t2i = read_api(api.read_text(encoding="utf-8"), entries, str(api))
    renderer = load_renderer(profile, catalog=list(entries.values()), artifact_root=artifact_root)
    images = renderer.render(t2i, prompt, negative_prompt, seed_list)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for seed, image in zip(seed_list, images, strict=True):
        path = out / f"seed-{seed}.png"
        path.write_bytes(png_bytes(image))
        written.append(str(path))
    width, height, steps = renderer.render_shape(t2i)
    summary = {
        "images": written,
        "rendered_size": [width, height],  # --profile tiny caps size and steps (tiny_render_settings)
        "rendered_steps": steps,
        "model_loads": renderer.model_loads,
        "rendered": renderer.stats.rendered,
        "cached": renderer.stats.cached,
    }
    typer.echo(json.dumps(summary, indent=2))


def score(
    prompt: str = typer.Argument(..., help="The prompt the images were made for."),
    images: list[Path] = typer.Argument(..., help="Image files to score."),
    profile: str = typer.Option("default", "--profile", help="default (real weights) or tiny."),
) -> None:
    """Print one JSON object per image with clip_score, image_reward and hps_v2."""
    from PIL import Image

    from diffagent.profiles import load_scorers

    missing = [str(path) for path in images if not path.is_file()]
    if missing:
        raise typer.BadParameter(f"no such image file(s): {missing}")
    pictures = [Image.open(path).convert("RGB") for path in images]
    rows = load_scorers(profile).score_rows([prompt] * len(pictures), pictures)
    typer.echo(
        json.dumps([{"image": str(path), **row} for path, row in zip(images, rows, strict=True)], indent=2)
    )


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("render")(render)
    app.command("score")(score)
