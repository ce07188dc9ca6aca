"""Canonical sampler names -> diffusers schedulers. The table is `schemas.samplers` (each name's
A1111, ComfyUI and diffusers spelling); `schemas.architectures` says which map an architecture's
pipelines take (noise-prediction SD or flow-matching Flux)."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from schemas.architectures import scheduler_spec
from schemas.samplers import FLOW_SCHEDULERS, NOISE_SCHEDULERS, SchedulerSpec

# Names other modules import: the diffusers spec type and the SD / Flux maps.
SamplerSpec = SchedulerSpec
SAMPLER_MAP: dict[str, SchedulerSpec] = NOISE_SCHEDULERS
FLUX_SAMPLER_MAP: dict[str, SchedulerSpec] = FLOW_SCHEDULERS


# Flow-matching schedulers name the static timestep shift two ways: Euler and Heun `shift`, the
# multistep solvers on flow sigmas (UniPC, DPM-Solver++) `flow_shift`.
_SHIFT_NAMES = (("shift", "flow_shift"), ("flow_shift", "shift"))


def carried_shift(base_config: Mapping[str, Any], accepted: Iterable[str]) -> dict[str, Any]:
    """The pipeline's static shift under the name the new scheduler takes, when it takes the other
    one: a sampler swap keeps the model's shift (HiDream-I1 Full ships UniPC at `flow_shift` 3; its
    Euler must step at shift 3, not Euler's default 1). Nothing under dynamic shifting, where the
    pipeline's `mu` sets the shift per resolution.

    Example: {"flow_shift": 3.0} to a scheduler taking `shift` -> {"shift": 3.0}."""
    if base_config.get("use_dynamic_shifting"):
        return {}
    accepted = set(accepted)
    for source, target in _SHIFT_NAMES:
        if source in base_config and target in accepted and source not in accepted:
            return {target: base_config[source]}
    return {}


def make_scheduler(sampler: str, base_config, architecture: str = "sd1"):
    """A diffusers scheduler for a canonical sampler name, built from a pipeline's scheduler config;
    Flux pipelines get the flow-matching scheduler the name means (`scheduler_spec`), at the
    pipeline's own shift (`carried_shift`)."""
    import diffusers

    spec = scheduler_spec(sampler, architecture)
    scheduler_class = getattr(diffusers, spec.scheduler)
    accepted = inspect.signature(scheduler_class.__init__).parameters
    return scheduler_class.from_config(base_config, **{**carried_shift(base_config, accepted), **spec.kwargs})
