"""Renderer: a T2I API + prompt + negative prompt + seeds -> images, cached and reproducible."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from diffagent.answers.lora_usage import with_trigger_words
from diffagent.render.cache import RenderCache, RenderKey
from diffagent.render.pipelines import PipelineCache, flat_clip_alias
from diffagent.render.samplers import make_scheduler
from diffagent.render.settings import RenderSettings
from diffagent.store.base import ModelStore, ResolvedModel, check_lora_architecture
from schemas.architectures import architecture
from schemas.t2i import DEFAULT_CLIP_SKIP, T2IApi, architecture_of

log = logging.getLogger(__name__)
# Where a pipeline keeps the scheduler config it was loaded with (see `base_scheduler_config`).
BASE_SCHEDULER_CONFIG = "diffagent_base_scheduler_config"


@dataclass
class RenderStats:
    rendered: int = 0  # images made by a pipeline
    cached: int = 0  # images read back from the render cache


def resolve_api(store: ModelStore, api: T2IApi) -> tuple[ResolvedModel, ResolvedModel | None]:
    """(checkpoint, LoRA or None) for an API: a LoRA renders on the base checkpoint it names."""
    if api.type == "Checkpoint":
        return store.resolve(api.version_id, "Checkpoint", api.base_model), None
    if api.base_checkpoint_version_id is None:
        raise ValueError(f"LoRA {api.model!r} (version {api.version_id}) has no base_checkpoint_version_id")
    checkpoint = store.resolve(api.base_checkpoint_version_id, "Checkpoint", api.base_model)
    lora = store.resolve(api.version_id, "LORA", api.base_model)
    where = f"its base checkpoint (version {checkpoint.version_id}, {checkpoint.base_model!r})"
    check_lora_architecture(lora, architecture_of(checkpoint.base_model), where)
    return checkpoint, lora


def base_scheduler_config(pipe) -> dict:
    """The scheduler config `pipe` was loaded with, read before the first sampler swap replaces its
    scheduler. Kept on the pipeline object itself, so it lives and dies with that pipeline: keyed by
    `id(pipe)` in the renderer, a pipeline loaded after an eviction could reuse a freed id and take
    another architecture's config (an SD scheduler config on a Flux pipeline)."""
    config = getattr(pipe, BASE_SCHEDULER_CONFIG, None)
    if config is None:
        config = dict(pipe.scheduler.config)
        setattr(pipe, BASE_SCHEDULER_CONFIG, config)
    return config


def call_options(architecture_name: str, api: T2IApi, negative_prompt: str) -> dict:
    """The pipeline call's guidance, negative prompt and clip skip, as the architecture takes them
    (schemas.architectures): Flux's cfg_scale is its distilled guidance, with no negative prompt or
    clip skip; Z-Image's guidance is CFG - 1; Qwen-Image's CFG is `true_cfg_scale`. A1111 counts the
    last layer as clip skip 1 where diffusers counts layers skipped."""
    family = architecture(architecture_name)
    options: dict = {family.cfg_argument: api.cfg_scale + family.cfg_offset}
    if family.takes_negative_prompt:
        options["negative_prompt"] = negative_prompt or family.empty_negative_prompt
    if family.export.takes_clip_skip:  # CLIP text encoders only (SD); LLM / T5 ones have none
        options["clip_skip"] = api.clip_skip - 1 or None
    return options


class Renderer:
    """Renders T2I APIs. Pipelines stay loaded across calls (bounded by settings.max_pipelines);
    with an artifact root, every image is cached as PNG and never rendered twice."""

    def __init__(
        self,
        store: ModelStore,
        settings: RenderSettings | None = None,
        artifact_root: str | None = None,
    ):
        self.store = store
        self.settings = settings or RenderSettings()
        self.pipelines = PipelineCache(self.settings)
        root = artifact_root or self.settings.artifact_root
        self.cache = RenderCache(root) if root else None
        self.stats = RenderStats()

    @property
    def model_loads(self) -> int:
        return self.pipelines.loads

    def keys(self, api: T2IApi, prompt: str, negative_prompt: str, seeds: Sequence[int]) -> list[RenderKey]:
        checkpoint, lora = resolve_api(self.store, api)
        prompt = with_trigger_words(prompt, api.trigger_words)
        return [self._key(api, checkpoint, lora, prompt, negative_prompt, seed) for seed in seeds]

    def render_shape(self, api: T2IApi) -> tuple[int, int, int]:
        """(width, height, steps) actually rendered: the API's, unless the settings cap them."""
        side, max_steps = self.settings.render_size, self.settings.render_max_steps
        width, height = (side, side) if side else (api.width, api.height)
        steps = min(api.sampling_steps, max_steps) if max_steps else api.sampling_steps
        return width, height, steps

    def _key(self, api, checkpoint, lora, prompt, negative_prompt, seed) -> RenderKey:
        width, height, steps = self.render_shape(api)
        return RenderKey(
            model_sha256=checkpoint.sha256,
            lora_sha256=lora.sha256 if lora else None,
            prompt=prompt,
            negative_prompt=negative_prompt,
            seed=int(seed),
            width=width,
            height=height,
            steps=steps,
            cfg_scale=float(api.cfg_scale),
            # Clip skip changes the image, so it is part of the key; folded into the sampler field
            # (only when not the default, so keys made before clip skip existed stay valid).
            sampler=api.sampling_method
            + ("" if api.clip_skip == DEFAULT_CLIP_SKIP else f"|clip_skip={api.clip_skip}"),
            lora_scale=self.lora_scale(api) if lora else 0.0,
        )

    def lora_scale(self, api: T2IApi) -> float:
        """The answer's own LoRA strength, else the settings' (`lora_scale`, 1.0)."""
        return self.settings.lora_scale if api.lora_weight is None else api.lora_weight

    def render(
        self, api: T2IApi, prompt: str, negative_prompt: str = "", seeds: Sequence[int] = (0,)
    ) -> list[Image.Image]:
        """One image per seed, in seed order. Cached images are read back, the rest rendered in one batch."""
        if not seeds:
            raise ValueError("seeds is empty; give at least one seed")
        checkpoint, lora = resolve_api(self.store, api)
        prompt = with_trigger_words(prompt, api.trigger_words)  # as every export writes it
        keys = [self._key(api, checkpoint, lora, prompt, negative_prompt, seed) for seed in seeds]
        images: list[Image.Image | None] = [self.cache.get(key) if self.cache else None for key in keys]
        missing = [i for i, image in enumerate(images) if image is None]
        self.stats.cached += len(seeds) - len(missing)
        if missing:
            fresh = self._generate(
                api, checkpoint, lora, prompt, negative_prompt, [int(seeds[i]) for i in missing]
            )
            for index, image in zip(missing, fresh, strict=True):
                if self.cache:
                    self.cache.put(keys[index], image)
                images[index] = image
            self.stats.rendered += len(missing)
        return [image for image in images if image is not None]

    def _generate(
        self, api, checkpoint, lora, prompt, negative_prompt, seeds: list[int]
    ) -> list[Image.Image]:
        pipe = self.pipelines.get(checkpoint, lora, self.lora_scale(api))
        architecture = architecture_of(checkpoint.base_model)
        pipe.scheduler = make_scheduler(api.sampling_method, base_scheduler_config(pipe), architecture)
        # One CPU generator per seed: image i depends only on seeds[i], on any device.
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        width, height, steps = self.render_shape(api)
        with flat_clip_alias(pipe):
            result = pipe(
                prompt=prompt,
                width=width,
                height=height,
                num_inference_steps=steps,
                num_images_per_prompt=len(seeds),
                generator=generators,
                **call_options(architecture, api, negative_prompt),
            )
        return list(result.images)
