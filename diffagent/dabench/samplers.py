"""Normalise the sampler names found in image metadata to the A1111 names in `schemas.t2i.SAMPLERS`.

Metadata says the same thing many ways: case ("euler a"), junk words ("DPM++ 2M Karras Test",
"DPM++ 2M alt Karras"), older k-diffusion names ("k_euler_a") and ComfyUI's split of sampler
(`dpmpp_2m`) and scheduler (`karras`). Names that still match nothing return None and the image
becomes a reject: we never guess a sampler the image was not made with.
"""

from __future__ import annotations

from functools import lru_cache

from schemas.t2i import SAMPLERS

_CANONICAL = {name.lower(): name for name in SAMPLERS}
_WORDS = {word for name in _CANONICAL for word in name.split()}

# ComfyUI / k-diffusion sampler ids -> A1111 names (without the Karras suffix).
_COMFY = {
    "euler": "Euler",
    "euler_ancestral": "Euler a",
    "euler_a": "Euler a",
    "heun": "Heun",
    "dpm_2": "DPM2",
    "dpm2": "DPM2",
    "dpm_2_ancestral": "DPM2 a",
    "dpm2_a": "DPM2 a",
    "lms": "LMS",
    "dpm_fast": "DPM fast",
    "dpm_adaptive": "DPM adaptive",
    "dpmpp_2s_ancestral": "DPM++ 2S a",
    "dpmpp_2s_a": "DPM++ 2S a",
    "dpmpp_sde": "DPM++ SDE",
    "dpmpp_sde_gpu": "DPM++ SDE",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_sde": "DPM++ 2M SDE",
    "dpmpp_2m_sde_gpu": "DPM++ 2M SDE",
    "ddim": "DDIM",
    "plms": "PLMS",
    "uni_pc": "UniPC",
    "uni_pc_bh2": "UniPC",
    "unipc": "UniPC",
}


@lru_cache(maxsize=4096)
def normalise_sampler(sampler: str | None, scheduler: str | None = None) -> str | None:
    """The A1111 sampler name for `sampler` (and ComfyUI's `scheduler`), or None if unknown."""
    if not sampler or not sampler.strip():
        return None
    raw = sampler.strip()
    lowered = raw.lower()
    if lowered in _CANONICAL:
        return _CANONICAL[lowered]
    comfy_key = lowered.removeprefix("k_").replace(" ", "_")
    if comfy_key.endswith("_karras"):
        comfy_key, scheduler = comfy_key.removesuffix("_karras"), "karras"
    if comfy_key in _COMFY:
        name = _COMFY[comfy_key]
        karras = f"{name} Karras"
        if (scheduler or "").strip().lower() == "karras" and karras.lower() in _CANONICAL:
            return karras
        return name
    # Drop words that belong to no known name ("Test", "New", "alt") and try again.
    kept = " ".join(word for word in lowered.split() if word in _WORDS)
    return _CANONICAL.get(kept)
