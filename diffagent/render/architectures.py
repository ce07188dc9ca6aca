"""Per-architecture lookups the renderer and the exports index by architecture name: views of the
one table, `schemas.architectures` (where the facts live and new architectures are added).

No torch or diffusers import here: the exports only need the names.
"""

from __future__ import annotations

from schemas.architectures import (
    ARCHITECTURE_TABLE,
    architecture_of_pipeline,
    pipeline_class_name,
    scheduler_spec,
    takes_distilled_guidance,
)
from schemas.samplers import SchedulerSpec

# Architecture -> diffusers pipeline class name (Pony, Illustrious and NoobAI are sdxl).
PIPELINE_CLASSES: dict[str, str] = {name: arch.pipeline_class for name, arch in ARCHITECTURE_TABLE.items()}
# Architecture -> canonical sampler name -> scheduler (Flux: the flow-matching solvers).
SCHEDULERS: dict[str, dict[str, SchedulerSpec]] = {
    name: dict(arch.schedulers) for name, arch in ARCHITECTURE_TABLE.items()
}
# Guidance-distilled architectures (Flux) take no negative prompt (no true CFG) and no clip skip.
TAKES_NEGATIVE_PROMPT: dict[str, bool] = {
    name: arch.takes_negative_prompt for name, arch in ARCHITECTURE_TABLE.items()
}
# Half precision on GPU per architecture (Flux overflows in float16: bfloat16).
GPU_DTYPES: dict[str, str] = {name: arch.gpu_dtype for name, arch in ARCHITECTURE_TABLE.items()}
# Whether a Civitai checkpoint file is the transformer alone (the rest from the base model's folder).
TRANSFORMER_ONLY_FILES: dict[str, bool] = {
    name: arch.transformer_only_files for name, arch in ARCHITECTURE_TABLE.items()
}

__all__ = [
    "GPU_DTYPES",
    "PIPELINE_CLASSES",
    "SCHEDULERS",
    "TAKES_NEGATIVE_PROMPT",
    "TRANSFORMER_ONLY_FILES",
    "architecture_of_pipeline",
    "pipeline_class_name",
    "scheduler_spec",
    "takes_distilled_guidance",
]
