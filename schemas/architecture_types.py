"""The types of the architecture table (`schemas.architectures`): what one entry says."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.samplers import SchedulerSpec


class ArchitectureDefaults(BaseModel):
    """A default API's parameters. For guidance-distilled models (Flux) `cfg_scale` is the distilled
    guidance the pipeline takes (`guidance_scale`), not classifier-free guidance."""

    model_config = ConfigDict(frozen=True)

    width: int
    height: int
    sampling_method: str
    sampling_steps: int
    cfg_scale: float


@dataclass(frozen=True)
class BaseSource:
    setting: str  # RenderSettings' `<setting>_config` / `<setting>_base` (DIFFAGENT_<SETTING>_...)
    hub_id: str  # the diffusers repository of the published base model
    gated: bool = False  # the repository needs an accepted licence and an access token


@dataclass(frozen=True)
class CivitaiBaseModel:
    name: str  # Civitai's `baseModel`
    source: BaseSource | None = None  # None: renders from its architecture's `base`
    defaults: ArchitectureDefaults | None = None  # None: the architecture's
    distilled_guidance: bool = False  # cfg_scale is a guidance embedding (Flux.1 D; not schnell)


@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face hub repository (`{endpoint}/{repo}/resolve/{revision}/{path}`)."""

    repo: str
    path: str
    revision: str = "main"


@dataclass(frozen=True)
class Companion:
    """A file a checkpoint of the architecture needs beside it (Civitai serves the model alone)."""

    role: str  # "t5 text encoder", "clip text encoder", "vae"
    file: str  # the name ComfyUI's examples and Forge's module list use
    kind: Literal["text_encoder", "vae"]  # which tool folder it goes in (diffagent.store.tool_layout)
    component: str  # the diffusers pipeline component it is (`text_encoder_2`, `vae`)
    source: HubFile  # where it is published (an ungated repository: fetched without a token)


@dataclass(frozen=True)
class ExportFacts:
    """How ComfyUI, A1111/Forge and diffusers scripts load the architecture."""

    comfyui_model_loader: str = "CheckpointLoaderSimple"  # or UNETLoader for a transformer-only file
    # The node loading the text encoder companions, in their table order (clip_name1, clip_name2, ...),
    # with `comfyui_clip_type` as its `type`; None: CLIP comes in the checkpoint.
    comfyui_clip_loader: str | None = None
    comfyui_clip_type: str | None = None
    comfyui_vae_loader: str = "VAELoader"  # loads a VAE companion
    # The node that feeds a distilled guidance (CivitaiBaseModel.distilled_guidance) to the model.
    comfyui_guidance_node: str | None = None
    comfyui_latent: str = "EmptyLatentImage"
    # ComfyUI scheduler names replaced for this family (Flux's examples schedule with `simple`).
    comfyui_schedulers: Mapping[str, str] = field(default_factory=dict)
    # A1111 "Schedule type" labels replaced for this family in Forge (Forge's Flux preset: Simple).
    a1111_schedules: Mapping[str, str] = field(default_factory=dict)
    # Whether the tools apply clip skip to the text encoders: A1111 `Clip skip`, ComfyUI
    # `CLIPSetLastLayer`, diffusers `clip_skip` (as `diffagent render` does).
    takes_clip_skip: bool = True
    # Whether the diffusers pipeline has a safety checker that `render` drops (SD 1.5's blacks out
    # whatever it flags): the diffusers script passes safety_checker=None.
    safety_checker: bool = False
    # Whether A1111 or lllyasviel's Forge loads the family at all; False: the a1111 exports refuse.
    a1111: bool = True


@dataclass(frozen=True)
class Architecture:
    name: str
    pipeline_class: str  # diffusers class name
    base_models: tuple[CivitaiBaseModel, ...]  # the first with a source is the architecture's base
    defaults: ArchitectureDefaults
    schedulers: Mapping[str, SchedulerSpec]  # canonical sampler name -> diffusers scheduler
    gpu_dtype: str  # half precision on GPU (CPU renders float32)
    takes_negative_prompt: bool = True  # False for guidance-distilled models (no true CFG)
    # The pipeline call argument `cfg_scale` goes to, plus what it adds: the table keeps A1111's and
    # ComfyUI's CFG (1 = none), diffusers' Z-Image takes `pos + g (pos - neg)`, i.e. CFG - 1, and
    # Qwen-Image's true CFG is `true_cfg_scale`.
    cfg_argument: str = "guidance_scale"
    cfg_offset: float = 0.0
    # What the pipeline gets as negative prompt when the user gives none: None (SD, Z-Image: their
    # pipelines encode "" themselves), "" where CFG runs only with one given (Qwen-Image).
    empty_negative_prompt: str | None = None
    # A Civitai checkpoint that is the transformer alone loads as this diffusers class (from_single_file)
    # with the rest of the pipeline from its base model's config folder; None: the whole pipeline.
    transformer_class: str | None = None
    companions: tuple[Companion, ...] = ()
    export: ExportFacts = ExportFacts()

    @property
    def transformer_only_files(self) -> bool:
        return self.transformer_class is not None

    @property
    def base(self) -> CivitaiBaseModel:
        """The architecture's published base model: what its fine-tunes render as their base."""
        return next(model for model in self.base_models if model.source)

    @property
    def forge_modules(self) -> tuple[str, ...]:
        """Forge's "VAE / Text Encoder" modules for a transformer-only file: the companions."""
        return tuple(companion.file for companion in self.companions)

    def companions_of(self, kind: str) -> tuple[Companion, ...]:
        """The companions of one kind ("text_encoder", "vae"), in table order."""
        return tuple(companion for companion in self.companions if companion.kind == kind)
