"""Canonical sampler names -> diffusers schedulers. The table is `schemas.samplers` (each name's
A1111, ComfyUI and diffusers spelling); `schemas.architectures` says which map an architecture's
pipelines take (noise-prediction SD or flow-matching Flux)."""

from __future__ import annotations

from schemas.architectures import scheduler_spec
from schemas.samplers import FLOW_SCHEDULERS, NOISE_SCHEDULERS, SchedulerSpec

# Names other modules import: the diffusers spec type and the SD / Flux maps.
SamplerSpec = SchedulerSpec
SAMPLER_MAP: dict[str, SchedulerSpec] = NOISE_SCHEDULERS
FLUX_SAMPLER_MAP: dict[str, SchedulerSpec] = FLOW_SCHEDULERS


def make_scheduler(sampler: str, base_config, architecture: str = "sd1"):
    """A diffusers scheduler for a canonical sampler name, built from a pipeline's scheduler config;
    Flux pipelines get the flow-matching scheduler the name means (`scheduler_spec`)."""
    import diffusers

    spec = scheduler_spec(sampler, architecture)
    return getattr(diffusers, spec.scheduler).from_config(base_config, **spec.kwargs)
