"""The renderer and scorers the evaluation loads, per profile.

Rendering is `diffagent.render.load_renderer` over the DABench catalog, with its render cache under
the output folder: every system renders its own checkpoint (and LoRA), and Baseline / Baseline*
render the architecture's base model through the BASE_MODEL_VERSION_ID path when the base is not a
catalog entry. The tiny profile renders every system at the same capped size and steps (what the
rollouts use), so a CI-sized run takes minutes; the report says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from diffagent.evaluate.pipeline import RenderFn, ScoreFn
from schemas.architectures import DEFAULT_BASE_MODELS, base_setting
from schemas.dabench import CatalogEntry


def render_settings_for(
    profile: str, catalog: Mapping[str, CatalogEntry], base_models: Mapping[str, str] | None = None
):  # -> RenderSettings
    """RenderSettings for a profile. `base_models` maps a published base model ("SD 1.5", "Flux.1 S")
    to its default API's model; one that is not a catalog entry is a diffusers folder or hub id: the
    renderer loads it for version BASE_MODEL_VERSION_ID (the setting `schemas.architectures.
    base_setting` names)."""
    from diffagent.render import RenderSettings, tiny_render_settings

    update: dict[str, Any] = {}
    for base_model, name in (base_models or {}).items():
        if base_model not in DEFAULT_BASE_MODELS:
            raise ValueError(
                f"unknown base model {base_model!r} in base_models; have {list(DEFAULT_BASE_MODELS)}"
            )
        if name not in catalog:  # the RenderSettings field naming its source (`flux_schnell_base`)
            update[base_setting(base_model)] = name
    return tiny_render_settings(**update) if profile == "tiny" else RenderSettings(**update)


def load_render_fn(
    profile: str,
    data: str | Path,
    cache_dir: str | Path,
    catalog: Mapping[str, CatalogEntry],
    base_models: Mapping[str, str] | None = None,
    device: str | None = None,
) -> tuple[RenderFn, str]:
    """(render function, a line naming the renderer for the report). `data` is the DABench folder
    whose catalog the store resolves; `cache_dir` the render cache (a path or fsspec URL)."""
    from diffagent.profiles import load_renderer

    settings = render_settings_for(profile, catalog, base_models)
    renderer = load_renderer(
        profile, device=device, catalog=str(data), artifact_root=str(cache_dir), settings=settings
    )
    note = f"Renderer: diffagent.render ({profile} profile), each system's own checkpoint and LoRA"
    if settings.render_size or settings.render_max_steps:
        note += (
            f"; every image rendered at {settings.render_size}px with at most "
            f"{settings.render_max_steps} steps (the table's sizes and steps are the APIs')"
        )
    return renderer.render, note + "."


def load_score_fn(profile: str) -> ScoreFn:
    """CLIP score, ImageReward and HPS v2 (`diffagent.score.load_scorers`), loaded once."""
    from diffagent.profiles import load_scorers

    scorers = load_scorers(profile)
    score_all: Callable[..., Any] = scorers.score_all
    return score_all
