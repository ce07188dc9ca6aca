"""The one architecture table: every per-architecture fact, read by answers, store, render,
evaluate and the exports. Pure data (no torch or diffusers: classes are named as strings).

An architecture is a network family whose files load with one diffusers pipeline; Civitai's base
model names map onto it (Pony, Illustrious and NoobAI are SDXL fine-tunes: same UNet, VAE and text
encoders, so their files load with the SDXL pipeline and a LoRA for one loads on any of them).

Each `CivitaiBaseModel` with a `source` is itself published (a diffusers hub id): it has a default API
(the paper's baseline, its `defaults`), and renders from the `RenderSettings` fields
`<source.setting>_config` (default: the hub id; single-file checkpoints of that base model load
with it) and `<source.setting>_base` (DIFFAGENT_<SETTING>_BASE; None: the config). A base model
without a source (SD 1.4, Pony, ...) renders from its architecture's `base` (the first base model
with a source).

Adding an architecture (issue 25: z-image, qwen-image, flux2, chroma, sd3, auraflow, hidream) is
one `Architecture(...)` in `_TABLE`: its Civitai base model names (each with its defaults and,
when published, its hub id and settings name), its pipeline class, its scheduler map
(`NOISE_SCHEDULERS` for noise-prediction models, `FLOW_SCHEDULERS` for flow-matching ones), its GPU
dtype, file layout, companion files and export facts; plus its tiny pipeline (diffagent.tiny).
Everything else (RenderSettings fields, default APIs, the answer schema's base model enum) follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from schemas.samplers import (
    FLOW_SCHEDULERS,
    NOISE_SCHEDULERS,
    SAMPLERS,
    SchedulerSpec,
    flow_schedulers_taking,
)


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


@dataclass(frozen=True)
class CivitaiBaseModel:
    name: str  # Civitai's `baseModel`
    source: BaseSource | None = None  # None: renders from its architecture's `base`
    defaults: ArchitectureDefaults | None = None  # None: the architecture's
    distilled_guidance: bool = False  # cfg_scale is a guidance embedding (Flux.1 D; not schnell)


@dataclass(frozen=True)
class Companion:
    """A file a checkpoint of the architecture needs beside it (Civitai serves the model alone)."""

    role: str  # "t5 text encoder", "clip text encoder", "vae"
    file: str  # the name ComfyUI's examples and Forge's module list use
    comfyui_folder: str  # under ComfyUI's models/


@dataclass(frozen=True)
class ExportFacts:
    """How ComfyUI and Forge load the architecture."""

    comfyui_model_loader: str = "CheckpointLoaderSimple"  # or UNETLoader for a transformer-only file
    comfyui_clip_type: str | None = None  # DualCLIPLoader's `type`; None: CLIP comes in the checkpoint
    comfyui_latent: str = "EmptyLatentImage"
    # ComfyUI scheduler names replaced for this family (Flux's examples schedule with `simple`).
    comfyui_schedulers: Mapping[str, str] = field(default_factory=dict)
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
    takes_clip_skip: bool = True  # CLIP text encoders only (SD); LLM / T5 encoders have no clip skip
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


# The paper's default API: the base model with "Euler a", 20 steps, CFG 7 for SD. Flux renders with
# flow-matching Euler at the guidance 3.5 Flux.1 D is distilled for, 20 steps (ComfyUI's and Forge's
# default); Flux.1 S (schnell) is distilled to 4 steps without a guidance embedding (FluxPipeline
# ignores guidance for it; CFG 1 is "none", what Forge writes for it).
_SD = {"sampling_method": "Euler a", "sampling_steps": 20, "cfg_scale": 7.0}
_FLUX = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="Euler", sampling_steps=20, cfg_scale=3.5
)
# Z-Image: Civitai's own generator defaults (developer.civitai.com, orchestration recipe "zimage"):
# Turbo is step-distilled to 9 steps without CFG (CFG 1; diffusers' guidance_scale 0), the base model
# takes CFG 4 at 20 steps. Flow-matching Euler, 1024x1024 (the model cards').
_Z_IMAGE_TURBO = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="Euler", sampling_steps=9, cfg_scale=1.0
)
_Z_IMAGE_BASE = _Z_IMAGE_TURBO.model_copy(update={"sampling_steps": 20, "cfg_scale": 4.0})
# The newer pipelines set custom sigmas (and `mu`) on their schedulers: the flow-matching solvers
# whose `set_timesteps` does not take them run as flow-matching Euler (tests/render: every sampler
# renders on every family).
_Z_IMAGE_SCHEDULERS = flow_schedulers_taking(("Euler",), "ZImagePipeline's timesteps fit no other solver")
_QWEN_IMAGE_SCHEDULERS = flow_schedulers_taking(
    ("Euler", "UniPC"), "QwenImagePipeline sets custom sigmas, which this solver does not take"
)
_FLUX2_SCHEDULERS = flow_schedulers_taking(
    ("Euler", "DPM++ 2M", "UniPC"), "Flux.2's pipelines set custom sigmas, which this solver does not take"
)
# Qwen-Image: its model card's and diffusers' example, 50 steps at true CFG 4, 1328x1328 (its 1:1).

# Flux.2: FLUX.2 [dev] is guidance-distilled (guidance 4 at 28 steps, its model card's trade-off);
# the Klein models are step-distilled to 4 steps without CFG, their -base models take true CFG 4
# at 50 steps (BFL's model cards, diffusers' example). ComfyUI loads all three with UNETLoader and
# CLIPLoader type "flux2", Flux.2's 128-channel latent; no A1111 or lllyasviel Forge support.
_FLUX2_EXPORT = ExportFacts(
    comfyui_model_loader="UNETLoader",
    comfyui_clip_type="flux2",
    comfyui_latent="EmptyFlux2LatentImage",
    comfyui_schedulers={"normal": "simple"},
    a1111=False,
)
_KLEIN = _FLUX.model_copy(update={"sampling_steps": 4, "cfg_scale": 1.0})
_KLEIN_BASE = _FLUX.model_copy(update={"sampling_steps": 50, "cfg_scale": 4.0})


def _klein(size: str, names: tuple[str, str], repos: tuple[str, str], encoder: Companion) -> Architecture:
    """A Flux.2 [klein] size: the distilled model and its -base one share weights' shapes, so a
    LoRA loads on both; 4B and 9B differ in widths (and text encoder), so each is its own."""
    distilled, base = names
    return Architecture(
        name=f"flux2-klein-{size}",
        pipeline_class="Flux2KleinPipeline",
        base_models=(
            CivitaiBaseModel(distilled, BaseSource(f"flux2_klein_{size}", f"black-forest-labs/{repos[0]}")),
            CivitaiBaseModel(
                base, BaseSource(f"flux2_klein_base_{size}", f"black-forest-labs/{repos[1]}"), _KLEIN_BASE
            ),
        ),
        defaults=_KLEIN,
        schedulers=_FLUX2_SCHEDULERS,
        gpu_dtype="bfloat16",
        # diffusers' Klein pipeline guides against the empty prompt: no negative prompt to pass.
        takes_negative_prompt=False,
        takes_clip_skip=False,
        transformer_class="Flux2Transformer2DModel",
        companions=(encoder, Companion("vae", "flux2-vae.safetensors", "vae")),
        export=_FLUX2_EXPORT,
    )


_TABLE = (
    Architecture(
        name="sd1",
        pipeline_class="StableDiffusionPipeline",
        base_models=(
            CivitaiBaseModel("SD 1.4"),
            CivitaiBaseModel("SD 1.5", BaseSource("sd15", "stable-diffusion-v1-5/stable-diffusion-v1-5")),
        ),
        defaults=ArchitectureDefaults(width=512, height=512, **_SD),
        schedulers=NOISE_SCHEDULERS,
        gpu_dtype="float16",
    ),
    Architecture(
        name="sdxl",
        pipeline_class="StableDiffusionXLPipeline",
        base_models=(
            CivitaiBaseModel("SDXL 1.0", BaseSource("sdxl", "stabilityai/stable-diffusion-xl-base-1.0")),
            CivitaiBaseModel("Pony"),
            CivitaiBaseModel("Illustrious"),
            CivitaiBaseModel("NoobAI"),
        ),
        defaults=ArchitectureDefaults(width=1024, height=1024, **_SD),
        schedulers=NOISE_SCHEDULERS,
        gpu_dtype="float16",
    ),
    Architecture(
        name="flux",
        pipeline_class="FluxPipeline",
        base_models=(
            CivitaiBaseModel(
                "Flux.1 D", BaseSource("flux", "black-forest-labs/FLUX.1-dev"), distilled_guidance=True
            ),
            CivitaiBaseModel(
                "Flux.1 S",
                BaseSource("flux_schnell", "black-forest-labs/FLUX.1-schnell"),
                _FLUX.model_copy(update={"sampling_steps": 4, "cfg_scale": 1.0}),
            ),
        ),
        defaults=_FLUX,
        schedulers=FLOW_SCHEDULERS,
        # Flux overflows in float16; bfloat16 is what BFL and diffusers render it in.
        gpu_dtype="bfloat16",
        takes_negative_prompt=False,
        takes_clip_skip=False,
        transformer_class="FluxTransformer2DModel",
        companions=(
            Companion("t5 text encoder", "t5xxl_fp16.safetensors", "text_encoders"),
            Companion("clip text encoder", "clip_l.safetensors", "text_encoders"),
            Companion("vae", "ae.safetensors", "vae"),
        ),
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_type="flux",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "simple"},
        ),
    ),
    Architecture(
        name="z-image",
        pipeline_class="ZImagePipeline",
        base_models=(
            CivitaiBaseModel("ZImageTurbo", BaseSource("zimage_turbo", "Tongyi-MAI/Z-Image-Turbo")),
            CivitaiBaseModel("ZImageBase", BaseSource("zimage", "Tongyi-MAI/Z-Image"), _Z_IMAGE_BASE),
        ),
        defaults=_Z_IMAGE_TURBO,
        schedulers=_Z_IMAGE_SCHEDULERS,
        gpu_dtype="bfloat16",  # Tongyi-MAI's weights and examples are bfloat16
        takes_clip_skip=False,
        cfg_offset=-1.0,
        transformer_class="ZImageTransformer2DModel",
        companions=(
            Companion("qwen3 text encoder", "qwen_3_4b.safetensors", "text_encoders"),
            Companion("vae", "ae.safetensors", "vae"),  # Flux.1's VAE
        ),
        # ComfyUI: UNETLoader + CLIPLoader type "lumina2" (Z-Image is a Lumina-2-style single-stream
        # DiT); no A1111 or lllyasviel Forge support.
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_type="lumina2",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "simple"},
            a1111=False,
        ),
    ),
    Architecture(
        name="qwen-image",
        pipeline_class="QwenImagePipeline",
        # Civitai's "Qwen 2" and "Qwen 3" are hosted API models without weights (not image families).
        base_models=(CivitaiBaseModel("Qwen", BaseSource("qwen_image", "Qwen/Qwen-Image")),),
        defaults=ArchitectureDefaults(
            width=1328, height=1328, sampling_method="Euler", sampling_steps=50, cfg_scale=4.0
        ),
        schedulers=_QWEN_IMAGE_SCHEDULERS,
        gpu_dtype="bfloat16",  # Qwen's weights and examples are bfloat16
        takes_clip_skip=False,
        cfg_argument="true_cfg_scale",
        empty_negative_prompt="",
        transformer_class="QwenImageTransformer2DModel",
        companions=(
            Companion("qwen2.5-vl text encoder", "qwen_2.5_vl_7b_fp8_scaled.safetensors", "text_encoders"),
            Companion("vae", "qwen_image_vae.safetensors", "vae"),
        ),
        # ComfyUI: UNETLoader + CLIPLoader type "qwen_image" (its templates also shift the schedule
        # with ModelSamplingAuraFlow 3.1); no A1111 or lllyasviel Forge support.
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_type="qwen_image",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "simple"},
            a1111=False,
        ),
    ),
    Architecture(
        name="flux2",
        pipeline_class="Flux2Pipeline",
        base_models=(
            CivitaiBaseModel(
                "Flux.2 D", BaseSource("flux2_dev", "black-forest-labs/FLUX.2-dev"), distilled_guidance=True
            ),
        ),
        defaults=_FLUX.model_copy(update={"sampling_steps": 28, "cfg_scale": 4.0}),
        schedulers=_FLUX2_SCHEDULERS,
        gpu_dtype="bfloat16",
        takes_negative_prompt=False,
        takes_clip_skip=False,
        transformer_class="Flux2Transformer2DModel",
        companions=(
            Companion("mistral text encoder", "mistral_3_small_flux2_bf16.safetensors", "text_encoders"),
            Companion("vae", "flux2-vae.safetensors", "vae"),
        ),
        export=_FLUX2_EXPORT,
    ),
    _klein(
        "4b",
        ("Flux.2 Klein 4B", "Flux.2 Klein 4B-base"),
        ("FLUX.2-klein-4B", "FLUX.2-klein-base-4B"),
        Companion("qwen3 text encoder", "qwen_3_4b.safetensors", "text_encoders"),
    ),
    _klein(
        "9b",
        ("Flux.2 Klein 9B", "Flux.2 Klein 9B-base"),
        ("FLUX.2-klein-9B", "FLUX.2-klein-base-9B"),
        Companion("qwen3 text encoder", "qwen_3_8b_fp8mixed.safetensors", "text_encoders"),
    ),
)
ARCHITECTURE_TABLE: dict[str, Architecture] = {arch.name: arch for arch in _TABLE}
ARCHITECTURES: tuple[str, ...] = tuple(ARCHITECTURE_TABLE)
BASE_MODEL_TABLE: dict[str, CivitaiBaseModel] = {m.name: m for arch in _TABLE for m in arch.base_models}
# Civitai base model name -> architecture name.
ARCHITECTURE_OF: dict[str, str] = {m.name: arch.name for arch in _TABLE for m in arch.base_models}
BASE_MODELS: tuple[str, ...] = tuple(ARCHITECTURE_OF)
# Base model -> its default API's parameters (its own, else its architecture's).
BASE_MODEL_DEFAULTS: dict[str, ArchitectureDefaults] = {
    name: BASE_MODEL_TABLE[name].defaults or ARCHITECTURE_TABLE[arch].defaults
    for name, arch in ARCHITECTURE_OF.items()
}
ARCHITECTURE_DEFAULTS: dict[str, ArchitectureDefaults] = {a.name: a.defaults for a in _TABLE}
SOURCES: tuple[BaseSource, ...] = tuple(m.source for m in BASE_MODEL_TABLE.values() if m.source)
# The published base models' hub ids: what a default API names (version_id BASE_MODEL_VERSION_ID).
DEFAULT_BASE_MODELS: dict[str, str] = {m.name: m.source.hub_id for m in BASE_MODEL_TABLE.values() if m.source}

for _arch in _TABLE:
    assert any(m.source for m in _arch.base_models), f"{_arch.name}: one base model must name a source"
    assert set(_arch.schedulers) == set(SAMPLERS), f"{_arch.name}: every sampler needs a scheduler"


def architecture(name: str) -> Architecture:
    """The table's entry for an architecture name (`sd1`, `sdxl`, `flux`)."""
    if name not in ARCHITECTURE_TABLE:
        raise ValueError(f"unknown architecture {name!r}; expected one of {ARCHITECTURES}")
    return ARCHITECTURE_TABLE[name]


def architecture_of(base_model: str) -> str:
    """The architecture name of a Civitai base model name."""
    if base_model not in ARCHITECTURE_OF:
        raise ValueError(f"unknown base_model {base_model!r}; expected one of {BASE_MODELS}")
    return ARCHITECTURE_OF[base_model]


def architecture_for(base_model: str) -> Architecture:
    """The table's entry for a base model's architecture."""
    return ARCHITECTURE_TABLE[architecture_of(base_model)]


def defaults_for(base_model: str) -> ArchitectureDefaults:
    """The default API's parameters of a base model (its architecture's, Flux.1 S's own)."""
    architecture_of(base_model)  # names the bad value
    return BASE_MODEL_DEFAULTS[base_model]


def source_of(base_model: str) -> BaseSource:
    """Where a base model's own weights come from: its source, or its architecture's base's."""
    source = BASE_MODEL_TABLE[base_model].source if base_model in BASE_MODEL_TABLE else None
    return source or architecture_for(base_model).base.source  # type: ignore[return-value]


def base_setting(base_model: str) -> str:
    """The RenderSettings field naming a base model's diffusers folder or hub id (`sd15_base`)."""
    return f"{source_of(base_model).setting}_base"


def config_setting(base_model: str) -> str:
    """The RenderSettings field naming the folder single-file checkpoints load with (`sd15_config`)."""
    return f"{source_of(base_model).setting}_config"


def takes_distilled_guidance(base_model: str) -> bool:
    """Whether a base model's `cfg_scale` is a distilled guidance (Flux.1 D: yes; SD, schnell: no)."""
    architecture_of(base_model)
    return BASE_MODEL_TABLE[base_model].distilled_guidance


def pipeline_class_name(base_model: str) -> str:
    """The diffusers pipeline class name of a base model's architecture."""
    return architecture_for(base_model).pipeline_class


def architecture_of_pipeline(class_name: str) -> str:
    """The architecture a diffusers pipeline class renders, from its name."""
    for arch in _TABLE:
        if arch.pipeline_class == class_name:
            return arch.name
    names = tuple(arch.pipeline_class for arch in _TABLE)
    raise ValueError(f"no architecture renders with {class_name!r}; expected one of {names}")


def scheduler_spec(sampler: str, architecture_name: str) -> SchedulerSpec:
    """The diffusers scheduler a canonical sampler name means on an architecture's pipelines."""
    schedulers = architecture(architecture_name).schedulers
    if sampler not in schedulers:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
    return schedulers[sampler]
