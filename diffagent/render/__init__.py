"""Rendering T2I APIs with diffusers: what RRHF rollouts and evaluation call.

    from diffagent.profiles import load_renderer              # profiles live at the edge
    from diffagent.render import RenderJob, render_jobs
    renderer = load_renderer(profile="tiny")                  # or "default" with catalog=...
    images = renderer.render(api, prompt, negative_prompt, seeds=[0, 1, 2])   # list[PIL.Image], seed order
    report = render_jobs(renderer, [RenderJob(api, prompt, neg, seed), ...])  # images in job order
    report.model_loads, report.rendered, report.cached, report.jobs_per_second

- `diffagent.profiles.load_renderer(profile, ...)` builds a Renderer per profile (render/ never
  imports the tiny models: it takes folders and stores).
  An API with `version_id == schemas.t2i.BASE_MODEL_VERSION_ID` (0) renders the architecture's base
  model (a LoRA may name it as its base too): `tiny` the unperturbed tiny pipeline, `default` the
  diffusers folder or hub id `settings.<sd15|sdxl|flux|flux_schnell>_base` (else `<...>_config`):
  Flux.1 S renders FLUX.1-schnell, Flux.1 D FLUX.1-dev.
- Architectures (`schemas.architectures`): sd1 -> StableDiffusionPipeline, sdxl (SDXL 1.0,
  Pony, Illustrious, NoobAI) -> StableDiffusionXLPipeline, flux -> FluxPipeline (cfg_scale is its
  guidance, samplers map to flow-matching schedulers, bfloat16 on GPU). Every per-architecture
  rule (pipeline class, scheduler per sampler, negative prompt, file layout, GPU dtype, sources)
  lives in that one table, which the exports read too (`render.architectures` indexes it by
  name). Single-file checkpoints load with
  `from_single_file(config=<the base model's config folder>)`, kohya/LyCORIS LoRAs with
  `load_lora_weights`; a LoRA on a checkpoint of another architecture is refused. `clip_skip` is
  passed to diffusers (as clip_skip - 1: A1111 counts the last layer as 1).
- `Renderer(store, settings=None, artifact_root=None)`; `.render(api, prompt, negative_prompt, seeds)`.
  A LoRA renders on its base checkpoint (`base_checkpoint_version_id`) at `settings.lora_scale`.
  Pipelines are cached per checkpoint (`settings.max_pipelines`), LoRAs swapped as adapters; fp16
  (or bf16) on GPU. One CPU `torch.Generator` per seed. With an artifact root (path or fsspec
  URL), images are cached as PNG keyed by (model hash, LoRA hash, prompt, negative prompt, seed,
  size, steps, CFG, sampler, LoRA scale): a rerun renders nothing.
- `render_jobs(renderer, jobs, grouped=True) -> BatchReport`; `order_jobs(jobs) -> list[int]`.
- `SAMPLER_MAP` / `make_scheduler(sampler, config)`: sampler names -> diffusers schedulers
  (`schemas.samplers`, the one sampler table).
"""

from __future__ import annotations

from diffagent.render.jobs import BatchReport, RenderJob, order_jobs, render_jobs
from diffagent.render.renderer import Renderer, resolve_api
from diffagent.render.samplers import SAMPLER_MAP, make_scheduler
from diffagent.render.settings import RenderSettings, tiny_render_settings

__all__ = [
    "SAMPLER_MAP",
    "BatchReport",
    "RenderJob",
    "RenderSettings",
    "Renderer",
    "make_scheduler",
    "order_jobs",
    "render_jobs",
    "resolve_api",
    "tiny_render_settings",
]
