"""Rendering T2I APIs with diffusers: what RRHF rollouts and evaluation call.

    from diffagent.render import load_renderer, RenderJob, render_jobs
    renderer = load_renderer(profile="tiny")                  # or "default" with catalog=...
    images = renderer.render(api, prompt, negative_prompt, seeds=[0, 1, 2])   # list[PIL.Image], seed order
    report = render_jobs(renderer, [RenderJob(api, prompt, neg, seed), ...])  # images in job order
    report.model_loads, report.rendered, report.cached, report.jobs_per_second

- `load_renderer(profile="default", device=None, catalog=None, artifact_root=None, settings=None,
  store_dir=None) -> Renderer`:
  `tiny` uses the tiny pipelines (`ensure_tiny_models()`) and `TinyModelStore`, and without
  `settings` renders every API at 64px with at most 2 steps (`tiny_render_settings()`); `default` uses
  `CivitaiModelStore` over `catalog` (a DABench dir, catalog.parquet, or a list of CatalogEntry).
  An API with `version_id == schemas.t2i.BASE_MODEL_VERSION_ID` (0) renders the architecture's base
  model (a LoRA may name it as its base too): `tiny` the unperturbed tiny pipeline, `default` the
  diffusers folder or hub id `settings.sd15_base`/`sdxl_base` (else `sd15_config`/`sdxl_config`).
- `Renderer(store, settings=None, artifact_root=None)`; `.render(api, prompt, negative_prompt, seeds)`.
  A LoRA renders on its base checkpoint (`base_checkpoint_version_id`) at `settings.lora_scale`.
  Pipelines are cached per checkpoint (`settings.max_pipelines`), LoRAs swapped as adapters; fp16
  (or bf16) on GPU. One CPU `torch.Generator` per seed. With an artifact root (path or fsspec
  URL), images are cached as PNG keyed by (model hash, LoRA hash, prompt, negative prompt, seed,
  size, steps, CFG, sampler, LoRA scale): a rerun renders nothing.
- `render_jobs(renderer, jobs, grouped=True) -> BatchReport`; `order_jobs(jobs) -> list[int]`.
- `SAMPLER_MAP` / `make_scheduler(sampler, config)`: A1111 sampler names -> diffusers schedulers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from diffagent.render.jobs import BatchReport, RenderJob, order_jobs, render_jobs
from diffagent.render.renderer import Renderer, resolve_api
from diffagent.render.samplers import SAMPLER_MAP, make_scheduler
from diffagent.render.settings import RenderSettings, tiny_render_settings

PROFILES = ("default", "tiny")


def load_renderer(
    profile: str = "default",
    device: str | None = None,
    catalog=None,
    artifact_root: str | None = None,
    settings: RenderSettings | None = None,
    store_dir: Path | None = None,
) -> Renderer:
    """A Renderer for a profile; `catalog`: DABench dir, catalog.parquet path, or CatalogEntry list."""
    if profile not in PROFILES:
        raise ValueError(f"unknown render profile {profile!r}; expected one of {PROFILES}")
    if settings is None:
        settings = tiny_render_settings() if profile == "tiny" else RenderSettings()
    if device:
        settings = settings.model_copy(update={"render_device": device})
    if profile == "tiny":
        from diffagent.store.tiny_store import TinyModelStore
        from diffagent.tiny import ensure_tiny_models

        return Renderer(TinyModelStore(ensure_tiny_models(), store_dir), settings, artifact_root)
    from diffagent.store.catalog import load_catalog
    from diffagent.store.civitai_store import CivitaiModelStore

    entries: Sequence = []
    if catalog is not None:
        entries = catalog if isinstance(catalog, (list, tuple)) else load_catalog(Path(catalog))
    store = CivitaiModelStore(entries, cache_dir=store_dir, base_sources=settings.base_sources())
    return Renderer(store, settings, artifact_root)


__all__ = [
    "SAMPLER_MAP",
    "BatchReport",
    "RenderJob",
    "RenderSettings",
    "Renderer",
    "load_renderer",
    "make_scheduler",
    "order_jobs",
    "render_jobs",
    "resolve_api",
    "tiny_render_settings",
]
