"""The one sampler table: every canonical name round-trips through A1111 and ComfyUI, and metadata
strings (A1111 combined names, split sampler + scheduler) read back as the canonical name."""

from __future__ import annotations

import pytest

from diffagent.dabench.samplers import normalise_sampler
from schemas.samplers import (
    A1111_SAMPLERS,
    COMFYUI_SAMPLERS,
    FLOW_SCHEDULERS,
    NOISE_SCHEDULERS,
    SAMPLERS,
    from_a1111,
    from_comfyui,
    sampler,
)

# Hand-written from A1111's sd_samplers_kdiffusion.py / sd_schedulers.py and ComfyUI's samplers.py.
A1111 = {
    "Euler a": ("Euler a", "Automatic"),
    "LMS Karras": ("LMS", "Karras"),
    "DPM2 Karras": ("DPM2", "Karras"),
    "DPM++ 2M": ("DPM++ 2M", "Uniform"),
    "DPM++ 2M Karras": ("DPM++ 2M", "Karras"),
    "DPM++ 2M SDE Karras": ("DPM++ 2M SDE", "Karras"),
    "DDIM": ("DDIM", "Automatic"),
}
COMFYUI = {
    "Euler a": ("euler_ancestral", "normal"),
    "LMS": ("lms", "normal"),
    "LMS Karras": ("lms", "karras"),
    "DPM2 Karras": ("dpm_2", "karras"),
    "DPM++ 2M SDE Karras": ("dpmpp_2m_sde", "karras"),
    "DDIM": ("ddim", "ddim_uniform"),
    "PLMS": ("lms", "ddim_uniform"),
    "UniPC": ("uni_pc", "normal"),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_round_trips_through_a1111_and_comfyui(name: str) -> None:
    assert from_a1111(*A1111_SAMPLERS[name]) == name
    assert from_comfyui(*COMFYUI_SAMPLERS[name]) == name
    assert normalise_sampler(*A1111_SAMPLERS[name]) == name
    assert normalise_sampler(*COMFYUI_SAMPLERS[name]) == name
    assert normalise_sampler(name) == name and normalise_sampler(name.upper()) == name
    assert name in NOISE_SCHEDULERS and name in FLOW_SCHEDULERS


def test_hand_written_pairs() -> None:
    assert {name: A1111_SAMPLERS[name] for name in A1111} == A1111
    assert {name: COMFYUI_SAMPLERS[name] for name in COMFYUI} == COMFYUI
    assert sampler("DPM++ 2M Karras").diffusers.kwargs == {"use_karras_sigmas": True}
    with pytest.raises(ValueError, match="'Euler z'"):
        sampler("Euler z")


@pytest.mark.parametrize(
    ("sampler_name", "scheduler", "expected"),
    [
        ("LMS Karras", None, "LMS Karras"),
        ("lms", "karras", "LMS Karras"),  # defect 1: was "LMS"
        ("dpm2", "karras", "DPM2 Karras"),  # defect 1: was "DPM2"
        ("LMS", "Karras", "LMS Karras"),  # A1111 >= 1.9: Sampler + Schedule type
        ("DPM2 a", "karras", "DPM2 a Karras"),
        ("lms", None, "LMS"),
        ("lms", "simple", "LMS"),
        ("euler", "simple", "Euler"),  # Flux's ComfyUI scheduler: the plain sampler
        ("uni_pc", "karras", "UniPC"),  # no UniPC Karras: the plain sampler
        ("DPM++ 2M", "Automatic", "DPM++ 2M Karras"),  # A1111's default schedule for it
        ("Euler a", "Automatic", "Euler a"),
        ("k_dpmpp_2m_ka", None, "DPM++ 2M Karras"),
        ("dpmpp_2m_karras", None, "DPM++ 2M Karras"),
        ("ddim", "normal", "DDIM"),
        ("lcm", "karras", None),
    ],
)
def test_metadata_reads_the_scheduler(sampler_name: str, scheduler: str | None, expected: str | None) -> None:
    assert normalise_sampler(sampler_name, scheduler) == expected
