"""`diffagent render` (T2I API + prompt + seeds -> PNGs) and `diffagent score` (images -> JSON scores)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise typer.BadParameter(f"--seeds must be comma-separated integers, got {text!r}") from error
    if not seeds:
        raise typer.BadParameter(f"--seeds names no seed: {text!r}")
    return seeds


def render(
    prompt: str = typer.Argument(..., help="The text-to-image prompt."),
    api: Path = typer.Option(
        ..., "--api", help="T2I API as JSON (schemas.t2i.T2IApi); version_id 0 is the base model."
    ),
    catalog: Path = typer.Option(..., "--catalog", help="DABench directory or catalog.parquet."),
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
    from diffagent.store.catalog import find_entry, load_catalog
    from schemas.t2i import BASE_MODEL_VERSION_ID, T2IApi

    seed_list = _parse_seeds(seeds)
    t2i = T2IApi.model_validate_json(api.read_text())
    entries = load_catalog(catalog)
    if t2i.version_id != BASE_MODEL_VERSION_ID and find_entry(entries, t2i.version_id) is None:
        raise typer.BadParameter(
            f"the API names version {t2i.version_id} ({t2i.model!r}), which is not in {catalog}"
        )
    renderer = load_renderer(profile, catalog=entries, artifact_root=artifact_root)
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
