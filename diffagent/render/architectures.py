"""Each architecture's diffusers pipeline and scheduler table: the one place both the renderer
(`render.pipelines`, `render.samplers.make_scheduler`) and the diffusers export
(`exports.diffusers_code`) read them, so a script a user runs and `diffagent render` agree.

No torch or diffusers import here: the export only needs the names.
"""

from __future__ import annotations

from diffagent.render.samplers import FLUX_SAMPLER_MAP, SAMPLER_MAP, SamplerSpec
from schemas.t2i import SAMPLERS, architecture_of

# Architecture -> diffusers pipeline class name (Pony, Illustrious and NoobAI are sdxl).
PIPELINE_CLASSES: dict[str, str] = {
    "sd1": "StableDiffusionPipeline",
    "sdxl": "StableDiffusionXLPipeline",
    "flux": "FluxPipeline",
}
# Architecture -> A1111 sampler name -> scheduler: Flux integrates a flow, so its names mean the
# flow-matching solvers (render.samplers.FLUX_SAMPLER_MAP).
SCHEDULERS: dict[str, dict[str, SamplerSpec]] = {
    "sd1": SAMPLER_MAP,
    "sdxl": SAMPLER_MAP,
    "flux": FLUX_SAMPLER_MAP,
}
# Flux.1 is guidance-distilled: `cfg_scale` is its guidance embedding, and FluxPipeline takes no
# negative prompt (without true CFG) and no clip skip.
TAKES_NEGATIVE_PROMPT: dict[str, bool] = {"sd1": True, "sdxl": True, "flux": False}
# Half precision on GPU per architecture: Flux overflows in float16; bfloat16 is what BFL and
# diffusers render it in. SD renders in float16 (bfloat16 works too, slower on older GPUs).
GPU_DTYPES: dict[str, str] = {"sd1": "float16", "sdxl": "float16", "flux": "bfloat16"}
# How a Civitai checkpoint file of the architecture loads: the whole pipeline from the one file
# (LDM layout), or only the transformer, the text encoders and VAE from the base model's folder.
TRANSFORMER_ONLY_FILES: dict[str, bool] = {"sd1": False, "sdxl": False, "flux": True}


# Base models whose `cfg_scale` is a distilled guidance embedding rather than CFG: Flux.1 D.
# Flux.1 S (schnell) is distilled without one (its guidance input does nothing).
WITHOUT_GUIDANCE_EMBEDDING = ("Flux.1 S",)


def takes_distilled_guidance(base_model: str) -> bool:
    """Whether a base model's `cfg_scale` is a distilled guidance (Flux.1 D: yes; SD, schnell: no)."""
    return architecture_of(base_model) == "flux" and base_model not in WITHOUT_GUIDANCE_EMBEDDING


def pipeline_class_name(base_model: str) -> str:
    """The diffusers pipeline class name of a base model's architecture."""
    return PIPELINE_CLASSES[architecture_of(base_model)]


def architecture_of_pipeline(class_name: str) -> str:
    """The architecture a pipeline class renders, from its name."""
    for architecture, name in PIPELINE_CLASSES.items():
        if name == class_name:
            return architecture
    raise ValueError(
        f"no architecture renders with {class_name!r}; expected one of {tuple(PIPELINE_CLASSES)}"
    )


def scheduler_spec(sampler: str, architecture: str) -> SamplerSpec:
    """The scheduler an A1111 sampler name means on an architecture's pipelines."""
    if architecture not in SCHEDULERS:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {tuple(SCHEDULERS)}")
    if sampler not in SCHEDULERS[architecture]:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
    return SCHEDULERS[architecture][sampler]
