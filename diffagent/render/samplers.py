"""A1111 sampler names -> diffusers schedulers (notes/civitai-api.md).

Every name in schemas.t2i.SAMPLERS has an entry. `exact=False` marks the ones diffusers has no twin
for; `note` says what they map to instead and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.t2i import SAMPLERS


@dataclass(frozen=True)
class SamplerSpec:
    scheduler: str  # diffusers class name
    kwargs: dict = field(default_factory=dict)
    exact: bool = True
    note: str = ""


_KARRAS = {"use_karras_sigmas": True}
_SDE = {"algorithm_type": "sde-dpmsolver++"}

SAMPLER_MAP: dict[str, SamplerSpec] = {
    "Euler a": SamplerSpec("EulerAncestralDiscreteScheduler"),
    "Euler": SamplerSpec("EulerDiscreteScheduler"),
    "LMS": SamplerSpec("LMSDiscreteScheduler"),
    "LMS Karras": SamplerSpec("LMSDiscreteScheduler", _KARRAS),
    "Heun": SamplerSpec("HeunDiscreteScheduler"),
    "DPM2": SamplerSpec("KDPM2DiscreteScheduler"),
    "DPM2 Karras": SamplerSpec("KDPM2DiscreteScheduler", _KARRAS),
    "DPM2 a": SamplerSpec("KDPM2AncestralDiscreteScheduler"),
    "DPM2 a Karras": SamplerSpec("KDPM2AncestralDiscreteScheduler", _KARRAS),
    "DPM++ 2S a": SamplerSpec(
        "DPMSolverSinglestepScheduler",
        {"solver_order": 2},
        exact=False,
        note="no ancestral single-step DPM++ in diffusers; nearest: 2nd-order single-step, no noise",
    ),
    "DPM++ 2S a Karras": SamplerSpec(
        "DPMSolverSinglestepScheduler",
        {"solver_order": 2, **_KARRAS},
        exact=False,
        note="as 'DPM++ 2S a', with Karras sigmas",
    ),
    "DPM++ 2M": SamplerSpec("DPMSolverMultistepScheduler"),
    "DPM++ 2M Karras": SamplerSpec("DPMSolverMultistepScheduler", _KARRAS),
    "DPM++ SDE": SamplerSpec(
        "DPMSolverSinglestepScheduler",
        exact=False,
        note="diffusers' DPMSolverSDEScheduler needs torchsde; nearest without it: single-step DPM++",
    ),
    "DPM++ SDE Karras": SamplerSpec(
        "DPMSolverSinglestepScheduler", dict(_KARRAS), exact=False, note="as 'DPM++ SDE', with Karras sigmas"
    ),
    "DPM++ 2M SDE": SamplerSpec("DPMSolverMultistepScheduler", dict(_SDE)),
    "DPM++ 2M SDE Karras": SamplerSpec("DPMSolverMultistepScheduler", {**_SDE, **_KARRAS}),
    "DPM fast": SamplerSpec(
        "DPMSolverSinglestepScheduler",
        {"solver_order": 3},
        exact=False,
        note="k-diffusion's dpm_fast (orders up to 3): nearest: 3rd-order single-step DPM-Solver++",
    ),
    "DPM adaptive": SamplerSpec(
        "DPMSolverSinglestepScheduler",
        {"solver_order": 3},
        exact=False,
        note="no adaptive steps in diffusers; nearest: 3rd-order single-step DPM-Solver++",
    ),
    "DDIM": SamplerSpec("DDIMScheduler"),
    "PLMS": SamplerSpec("PNDMScheduler", {"skip_prk_steps": True}),
    "UniPC": SamplerSpec("UniPCMultistepScheduler"),
}

assert set(SAMPLER_MAP) == set(SAMPLERS), "every A1111 sampler in schemas.t2i.SAMPLERS needs a mapping"

# Flux is a flow-matching model: its samplers integrate a velocity field, and the names its Civitai
# images carry (ComfyUI's `euler` + `simple`, Forge's "Euler", "DPM++ 2M") mean the flow-matching
# version of each solver. diffusers has flow-matching Euler and Heun; the DPM-Solver family and UniPC
# take flow sigmas; the rest have no flow-matching twin and run as flow-matching Euler.
_FLOW_EULER = SamplerSpec("FlowMatchEulerDiscreteScheduler")
_FLOW_SOLVER = {"use_flow_sigmas": True, "prediction_type": "flow_prediction"}
_FLUX_EXACT: dict[str, SamplerSpec] = {
    "Euler": _FLOW_EULER,
    "Heun": SamplerSpec("FlowMatchHeunDiscreteScheduler"),
    "DPM++ 2M": SamplerSpec("DPMSolverMultistepScheduler", _FLOW_SOLVER),
    "UniPC": SamplerSpec("UniPCMultistepScheduler", _FLOW_SOLVER),
}
FLUX_SAMPLER_MAP: dict[str, SamplerSpec] = {
    name: _FLUX_EXACT.get(name)
    or SamplerSpec(
        "FlowMatchEulerDiscreteScheduler",
        exact=False,
        note="no flow-matching twin in diffusers; nearest: flow-matching Euler",
    )
    for name in SAMPLERS
}


def make_scheduler(sampler: str, base_config, architecture: str = "sd1"):
    """A diffusers scheduler for an A1111 sampler name, built from a pipeline's scheduler config;
    Flux pipelines get the flow-matching scheduler the name means (`architectures.scheduler_spec`)."""
    import diffusers

    from diffagent.render.architectures import scheduler_spec

    spec = scheduler_spec(sampler, architecture)
    return getattr(diffusers, spec.scheduler).from_config(base_config, **spec.kwargs)
