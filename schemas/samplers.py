"""The one sampler table: each canonical sampler name (A1111's combined names, "DPM++ 2M Karras")
with what it is called in A1111 >= 1.9, in ComfyUI and in diffusers, and the reverse lookups.

- `a1111`: (sampler, "Schedule type") as A1111 >= 1.9 shows them (modules/sd_samplers_kdiffusion.py,
  modules/sd_schedulers.py): "Karras" names are the sampler with the Karras schedule. A plain name
  is the sigmas the sampler stepped over before A1111 split the two: the model's own (`Uniform`).
  Where that is also A1111's default for the sampler, A1111 writes `Automatic`, and so do we.
- `comfyui`: (`sampler_name`, `scheduler`) from ComfyUI's comfy/samplers.py (KSAMPLER_NAMES,
  SCHEDULER_NAMES). ComfyUI has no PLMS: its nearest is linear multistep (`lms`) over the uniform
  DDIM timesteps PLMS steps over (`ddim_uniform`); A1111's DDIM steps uniformly too.
- `diffusers`: the scheduler class and config overrides on noise-prediction (SD) pipelines;
  `exact=False` marks the ones diffusers has no twin for (`note` says why). Flow-matching pipelines
  (Flux) read `FLOW_SCHEDULERS` instead; an architecture names its map (schemas.architectures).

Every pair is unique, so canonical -> A1111 -> canonical and canonical -> ComfyUI -> canonical
round-trip (tests/schemas). `from_comfyui` also reads metadata's other spellings (`COMFYUI_ALIASES`)
and schedulers with no canonical name of their own (`simple`, `beta`: the plain sampler).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

KARRAS = " Karras"  # the suffix of a canonical name that steps over Karras sigmas


@dataclass(frozen=True)
class SchedulerSpec:
    """A diffusers scheduler: class name, config overrides, and whether it is the sampler's twin."""

    scheduler: str
    kwargs: Mapping[str, object] = field(default_factory=dict)
    exact: bool = True
    note: str = ""


@dataclass(frozen=True)
class Sampler:
    name: str  # canonical: the A1111 name the answers use
    a1111: tuple[str, str]  # (A1111 >= 1.9 sampler, Schedule type label)
    comfyui: tuple[str, str]  # (ComfyUI sampler_name, scheduler)
    diffusers: SchedulerSpec  # on noise-prediction (SD) pipelines


_K = {"use_karras_sigmas": True}
_SDE = {"algorithm_type": "sde-dpmsolver++"}
_AUTO, _UNIFORM, _KA = "Automatic", "Uniform", "Karras"


def _spec(scheduler: str, kwargs: Mapping[str, object] | None = None, note: str = "") -> SchedulerSpec:
    """A scheduler spec; a note marks it as the nearest, not the sampler's twin."""
    return SchedulerSpec(scheduler, dict(kwargs or {}), exact=not note, note=note)


_NO_SDE = "diffusers' DPMSolverSDEScheduler needs torchsde; nearest without it: single-step DPM++"
_TABLE = (
    Sampler(
        "Euler a", ("Euler a", _AUTO), ("euler_ancestral", "normal"), _spec("EulerAncestralDiscreteScheduler")
    ),
    Sampler("Euler", ("Euler", _AUTO), ("euler", "normal"), _spec("EulerDiscreteScheduler")),
    Sampler("LMS", ("LMS", _AUTO), ("lms", "normal"), _spec("LMSDiscreteScheduler")),
    Sampler("LMS Karras", ("LMS", _KA), ("lms", "karras"), _spec("LMSDiscreteScheduler", _K)),
    Sampler("Heun", ("Heun", _AUTO), ("heun", "normal"), _spec("HeunDiscreteScheduler")),
    Sampler("DPM2", ("DPM2", _UNIFORM), ("dpm_2", "normal"), _spec("KDPM2DiscreteScheduler")),
    Sampler("DPM2 Karras", ("DPM2", _KA), ("dpm_2", "karras"), _spec("KDPM2DiscreteScheduler", _K)),
    Sampler(
        "DPM2 a",
        ("DPM2 a", _UNIFORM),
        ("dpm_2_ancestral", "normal"),
        _spec("KDPM2AncestralDiscreteScheduler"),
    ),
    Sampler(
        "DPM2 a Karras",
        ("DPM2 a", _KA),
        ("dpm_2_ancestral", "karras"),
        _spec("KDPM2AncestralDiscreteScheduler", _K),
    ),
    Sampler(
        "DPM++ 2S a",
        ("DPM++ 2S a", _UNIFORM),
        ("dpmpp_2s_ancestral", "normal"),
        _spec(
            "DPMSolverSinglestepScheduler",
            {"solver_order": 2},
            "no ancestral single-step DPM++ in diffusers; nearest: 2nd-order single-step, no noise",
        ),
    ),
    Sampler(
        "DPM++ 2S a Karras",
        ("DPM++ 2S a", _KA),
        ("dpmpp_2s_ancestral", "karras"),
        _spec(
            "DPMSolverSinglestepScheduler", {"solver_order": 2, **_K}, "as 'DPM++ 2S a', with Karras sigmas"
        ),
    ),
    Sampler("DPM++ 2M", ("DPM++ 2M", _UNIFORM), ("dpmpp_2m", "normal"), _spec("DPMSolverMultistepScheduler")),
    Sampler(
        "DPM++ 2M Karras", ("DPM++ 2M", _KA), ("dpmpp_2m", "karras"), _spec("DPMSolverMultistepScheduler", _K)
    ),
    Sampler(
        "DPM++ SDE",
        ("DPM++ SDE", _UNIFORM),
        ("dpmpp_sde", "normal"),
        _spec("DPMSolverSinglestepScheduler", None, _NO_SDE),
    ),
    Sampler(
        "DPM++ SDE Karras",
        ("DPM++ SDE", _KA),
        ("dpmpp_sde", "karras"),
        _spec("DPMSolverSinglestepScheduler", _K, "as 'DPM++ SDE', with Karras sigmas"),
    ),
    Sampler(
        "DPM++ 2M SDE",
        ("DPM++ 2M SDE", _UNIFORM),
        ("dpmpp_2m_sde", "normal"),
        _spec("DPMSolverMultistepScheduler", _SDE),
    ),
    Sampler(
        "DPM++ 2M SDE Karras",
        ("DPM++ 2M SDE", _KA),
        ("dpmpp_2m_sde", "karras"),
        _spec("DPMSolverMultistepScheduler", {**_SDE, **_K}),
    ),
    Sampler(
        "DPM fast",
        ("DPM fast", _AUTO),
        ("dpm_fast", "normal"),
        _spec(
            "DPMSolverSinglestepScheduler",
            {"solver_order": 3},
            "k-diffusion's dpm_fast (orders up to 3): nearest: 3rd-order single-step DPM-Solver++",
        ),
    ),
    Sampler(
        "DPM adaptive",
        ("DPM adaptive", _AUTO),
        ("dpm_adaptive", "normal"),
        _spec(
            "DPMSolverSinglestepScheduler",
            {"solver_order": 3},
            "no adaptive steps in diffusers; nearest: 3rd-order single-step DPM-Solver++",
        ),
    ),
    Sampler("DDIM", ("DDIM", _AUTO), ("ddim", "ddim_uniform"), _spec("DDIMScheduler")),
    Sampler(
        "PLMS", ("PLMS", _AUTO), ("lms", "ddim_uniform"), _spec("PNDMScheduler", {"skip_prk_steps": True})
    ),
    Sampler("UniPC", ("UniPC", _AUTO), ("uni_pc", "normal"), _spec("UniPCMultistepScheduler")),
)
SAMPLER_TABLE: dict[str, Sampler] = {sampler.name: sampler for sampler in _TABLE}
# The canonical names, in the order answers' JSON schemas list them.
SAMPLERS: tuple[str, ...] = tuple(SAMPLER_TABLE)
A1111_SAMPLERS: dict[str, tuple[str, str]] = {name: s.a1111 for name, s in SAMPLER_TABLE.items()}
COMFYUI_SAMPLERS: dict[str, tuple[str, str]] = {name: s.comfyui for name, s in SAMPLER_TABLE.items()}
NOISE_SCHEDULERS: dict[str, SchedulerSpec] = {name: s.diffusers for name, s in SAMPLER_TABLE.items()}

# Flux-type models integrate a velocity field: a sampler name on them (ComfyUI's `euler` + `simple`,
# Forge's "Euler", "DPM++ 2M") means the flow-matching version of the solver. diffusers has
# flow-matching Euler and Heun; DPM-Solver++ and UniPC take flow sigmas; the rest have no
# flow-matching twin and run as flow-matching Euler.
_FLOW = {"use_flow_sigmas": True, "prediction_type": "flow_prediction"}
_FLOW_EXACT = {
    "Euler": _spec("FlowMatchEulerDiscreteScheduler"),
    "Heun": _spec("FlowMatchHeunDiscreteScheduler"),
    "DPM++ 2M": _spec("DPMSolverMultistepScheduler", _FLOW),
    "UniPC": _spec("UniPCMultistepScheduler", _FLOW),
}
FLOW_SCHEDULERS: dict[str, SchedulerSpec] = {
    name: _FLOW_EXACT.get(name)
    or _spec(
        "FlowMatchEulerDiscreteScheduler",
        None,
        "no flow-matching twin in diffusers; nearest: flow-matching Euler",
    )
    for name in SAMPLERS
}


def flow_schedulers_taking(names: tuple[str, ...], why: str) -> dict[str, SchedulerSpec]:
    """FLOW_SCHEDULERS for a pipeline whose timestep setup only some flow-matching schedulers take
    (custom sigmas, `mu`): `names` keep theirs, the rest run as flow-matching Euler, noted `why`."""
    euler = FLOW_SCHEDULERS["Euler"]
    return {
        name: spec if name in names else _spec(euler.scheduler, None, f"{why}; nearest: flow-matching Euler")
        for name, spec in FLOW_SCHEDULERS.items()
    }


# Sampler ids metadata writes besides ComfyUI's own: k-diffusion's, A1111's aliases, ComfyUI's
# GPU and bh2 variants (the same solver).
COMFYUI_ALIASES: dict[str, str] = {
    "euler_a": "euler_ancestral",
    "dpm2": "dpm_2",
    "dpm2_a": "dpm_2_ancestral",
    "dpm_2_a": "dpm_2_ancestral",
    "dpm_ad": "dpm_adaptive",
    "dpmpp_2s_a": "dpmpp_2s_ancestral",
    "dpmpp_sde_gpu": "dpmpp_sde",
    "dpmpp_2m_sde_gpu": "dpmpp_2m_sde",
    "uni_pc_bh2": "uni_pc",
    "unipc": "uni_pc",
}
# A1111 >= 1.9 samplers whose `Automatic` schedule is Karras (their options' default scheduler);
# DPM++ 2M SDE's is Exponential, which no canonical name has (nearest: the plain name).
A1111_KARRAS_BY_DEFAULT = frozenset({"DPM++ 2M", "DPM++ SDE", "DPM++ 2S a", "DPM2", "DPM2 a"})

_BY_A1111 = {pair: name for name, pair in A1111_SAMPLERS.items()}
_BY_COMFYUI = {pair: name for name, pair in COMFYUI_SAMPLERS.items()}
assert len(_BY_A1111) == len(_BY_COMFYUI) == len(SAMPLERS), "every sampler needs its own pairs"
_A1111_SAMPLERS = {a1111.lower(): a1111 for a1111, _ in _BY_A1111}


def sampler(name: str) -> Sampler:
    """The table's row for a canonical sampler name."""
    if name not in SAMPLER_TABLE:
        raise ValueError(f"unknown sampler {name!r}; expected one of {SAMPLERS}")
    return SAMPLER_TABLE[name]


def from_a1111(name: str, schedule_type: str | None = None) -> str | None:
    """The canonical name of an A1111 sampler + Schedule type (any case), or None if unknown. A
    missing schedule is the plain sampler (pre-1.9 infotext); `Automatic` is A1111's default."""
    a1111 = _A1111_SAMPLERS.get(name.strip().lower())
    if a1111 is None:
        return None
    schedule = (schedule_type or "").strip().lower()
    karras = schedule == "karras" or (schedule == "automatic" and a1111 in A1111_KARRAS_BY_DEFAULT)
    if karras and f"{a1111}{KARRAS}" in SAMPLER_TABLE:
        return f"{a1111}{KARRAS}"
    return _BY_A1111.get((a1111, _AUTO)) or _BY_A1111.get((a1111, _UNIFORM))


def from_comfyui(sampler_name: str, scheduler: str | None = None, exact: bool = False) -> str | None:
    """The canonical name of a ComfyUI sampler_name + scheduler (or an alias), or None if unknown.
    A scheduler without a canonical pair of its own (`simple`, `beta`, none) gives the plain sampler,
    unless `exact`: then only a pair of the table counts."""
    key = sampler_name.strip().lower()
    key = COMFYUI_ALIASES.get(key, key)
    paired = _BY_COMFYUI.get((key, (scheduler or "normal").strip().lower()))
    if paired or exact:
        return paired
    plain = _BY_COMFYUI.get((key, "normal"))
    if plain:
        return plain
    named = [name for (comfy, _), name in _BY_COMFYUI.items() if comfy == key]
    return named[0] if len(named) == 1 else None
