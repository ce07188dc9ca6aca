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

from schemas.architecture_types import (
    Architecture,
    ArchitectureDefaults,
    BaseSource,
    CivitaiBaseModel,
    Companion,
    ExportFacts,
    HubFile,
)
from schemas.families_flow import FLOW_FAMILIES
from schemas.families_more import FLUX1_CLIP, FLUX1_T5, FLUX1_VAE, MORE_FAMILIES
from schemas.samplers import FLOW_SCHEDULERS, NOISE_SCHEDULERS, SAMPLERS, SchedulerSpec

__all__ = [
    "Architecture",
    "ArchitectureDefaults",
    "BaseSource",
    "CivitaiBaseModel",
    "Companion",
    "ExportFacts",
    "HubFile",
]


# The paper's default API: the base model with "Euler a", 20 steps, CFG 7 for SD. Flux renders with
# flow-matching Euler at the guidance 3.5 Flux.1 D is distilled for, 20 steps (ComfyUI's and Forge's
# default); Flux.1 S (schnell) is distilled to 4 steps without a guidance embedding (FluxPipeline
# ignores guidance for it; CFG 1 is "none", what Forge writes for it).
_SD = {"sampling_method": "Euler a", "sampling_steps": 20, "cfg_scale": 7.0}
_FLUX = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="Euler", sampling_steps=20, cfg_scale=3.5
)
_SD3 = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="Euler", sampling_steps=28, cfg_scale=3.5
)
# SD 3.5's text encoders as ComfyUI's SD 3.5 example loads them (TripleCLIPLoader, from
# models/text_encoders, in its "clip-l, clip-g, t5" order): Stability's single file holds the MMDiT
# and its VAE only. CLIP-L and T5-XXL are the same files as Flux.1's.
_SD3_COMPANIONS = (
    Companion("clip text encoder", FLUX1_CLIP.file, "text_encoder", "text_encoder", FLUX1_CLIP.source),
    Companion(
        "clip-g text encoder",
        "clip_g.safetensors",
        "text_encoder",
        "text_encoder_2",
        HubFile("Comfy-Org/stable-diffusion-3.5-fp8", "text_encoders/clip_g.safetensors"),
    ),
    Companion("t5 text encoder", FLUX1_T5.file, "text_encoder", "text_encoder_3", FLUX1_T5.source),
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
        export=ExportFacts(safety_checker=True),
    ),
    Architecture(
        name="sdxl",
        pipeline_class="StableDiffusionXLPipeline",
        base_models=(
            CivitaiBaseModel("SDXL 1.0", BaseSource("sdxl", "stabilityai/stable-diffusion-xl-base-1.0")),
            CivitaiBaseModel("Pony"),
            CivitaiBaseModel("Illustrious"),
            CivitaiBaseModel("NoobAI"),
            CivitaiBaseModel("SDXL 0.9"),  # the research release: SDXL 1.0's network
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
                "Flux.1 D",
                BaseSource("flux", "black-forest-labs/FLUX.1-dev", gated=True),
                distilled_guidance=True,
            ),
            CivitaiBaseModel(
                "Flux.1 S",
                BaseSource("flux_schnell", "black-forest-labs/FLUX.1-schnell"),
                _FLUX.model_copy(update={"sampling_steps": 4, "cfg_scale": 1.0}),
            ),
            # Krea's FLUX.1 dev fine-tune: the same transformer; its card renders at guidance 4.5
            # (FluxPipeline's default 28 steps).
            CivitaiBaseModel(
                "Flux.1 Krea",
                BaseSource("flux_krea", "black-forest-labs/FLUX.1-Krea-dev", gated=True),
                _FLUX.model_copy(update={"sampling_steps": 28, "cfg_scale": 4.5}),
                distilled_guidance=True,
            ),
        ),
        defaults=_FLUX,
        schedulers=FLOW_SCHEDULERS,
        # Flux overflows in float16; bfloat16 is what BFL and diffusers render it in.
        gpu_dtype="bfloat16",
        takes_negative_prompt=False,
        transformer_class="FluxTransformer2DModel",
        # The files ComfyUI's Flux examples link (T5-XXL and CLIP-L in DualCLIPLoader order, then BFL's
        # autoencoder), in schemas.families_more beside Chroma's, which reads two of them.
        companions=(FLUX1_T5, FLUX1_CLIP, FLUX1_VAE),
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_loader="DualCLIPLoader",
            comfyui_clip_type="flux",
            comfyui_guidance_node="FluxGuidance",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "simple"},
            a1111_schedules={"Automatic": "Simple", "Uniform": "Simple"},
            takes_clip_skip=False,
        ),
    ),
    # Stable Diffusion 3 / 3.5 (MMDiT, flow matching, CLIP-L + CLIP-G + T5-XXL). Defaults from each
    # Stability model card's diffusers example; Large Turbo is distilled to 4 steps without CFG. Civitai
    # serves Stability's single file (`model.diffusion_model.*`, VAE beside it): the transformer loads
    # from it, the rest from the base model's config folder. Forge and A1111 do not run SD 3.
    Architecture(
        name="sd3",
        pipeline_class="StableDiffusion3Pipeline",
        base_models=(
            CivitaiBaseModel(
                "SD 3.5 Large",
                BaseSource("sd35_large", "stabilityai/stable-diffusion-3.5-large", gated=True),
                _SD3.model_copy(update={"sampling_steps": 28, "cfg_scale": 3.5}),
            ),
            CivitaiBaseModel(
                "SD 3.5 Large Turbo",
                BaseSource("sd35_large_turbo", "stabilityai/stable-diffusion-3.5-large-turbo", gated=True),
                _SD3.model_copy(update={"sampling_steps": 4, "cfg_scale": 1.0}),
            ),
            CivitaiBaseModel(
                "SD 3.5 Medium",
                BaseSource("sd35_medium", "stabilityai/stable-diffusion-3.5-medium", gated=True),
                _SD3.model_copy(update={"sampling_steps": 40, "cfg_scale": 4.5}),
            ),
            CivitaiBaseModel(
                "SD 3",
                BaseSource("sd3_medium", "stabilityai/stable-diffusion-3-medium-diffusers", gated=True),
                _SD3.model_copy(update={"sampling_steps": 28, "cfg_scale": 7.0}),
            ),
        ),
        defaults=_SD3,
        schedulers=FLOW_SCHEDULERS,
        gpu_dtype="bfloat16",  # what Stability's and diffusers' SD 3.5 examples run in
        transformer_class="SD3Transformer2DModel",
        companions=_SD3_COMPANIONS,
        # ComfyUI: CheckpointLoaderSimple (MODEL and VAE from the file) + TripleCLIPLoader.
        export=ExportFacts(
            comfyui_clip_loader="TripleCLIPLoader",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "sgm_uniform"},
            takes_clip_skip=False,
            a1111=False,
        ),
    ),
    *FLOW_FAMILIES,
    *MORE_FAMILIES,
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


def config_variable(base_model: str) -> str:
    """The environment variable of `config_setting` (`DIFFAGENT_SD15_CONFIG`)."""
    return f"DIFFAGENT_{config_setting(base_model).upper()}"


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
