"""Normalise the sampler names found in image metadata to the canonical names in `schemas.samplers`.

Metadata says the same thing many ways: case ("euler a"), junk words ("DPM++ 2M Karras Test",
"DPM++ 2M alt Karras"), older k-diffusion names ("k_euler_a"), A1111 >= 1.9's split of sampler and
schedule ("LMS" + "Karras") and ComfyUI's (`dpmpp_2m` + `karras`). The scheduler is always read:
("lms", "karras") is "LMS Karras", not "LMS". Names that still match nothing return None and the
image becomes a reject: we never guess a sampler the image was not made with.
"""

from __future__ import annotations

from functools import lru_cache

from schemas.samplers import KARRAS, SAMPLER_TABLE, SAMPLERS, from_a1111, from_comfyui

_WORDS = {word for name in SAMPLERS for word in name.lower().split()}
_KARRAS = KARRAS.strip().lower()


def _split_karras(name: str, scheduler: str | None) -> tuple[str, str | None]:
    """("DPM++ 2M Karras", None) -> ("DPM++ 2M", "karras"); `dpmpp_2m_karras` and A1111's aliases
    (`k_dpmpp_2m_ka`) likewise."""
    for suffix in (f" {_KARRAS}", f"_{_KARRAS}", "_ka"):
        if name.endswith(suffix):
            return name.removesuffix(suffix), _KARRAS
    return name, scheduler


@lru_cache(maxsize=4096)
def normalise_sampler(sampler: str | None, scheduler: str | None = None) -> str | None:
    """The canonical sampler name for metadata's `sampler` and `scheduler` (A1111's Schedule type
    or ComfyUI's scheduler), or None if unknown."""
    if not sampler or not sampler.strip():
        return None
    name, schedule = _split_karras(sampler.strip().lower(), scheduler)
    comfy, comfy_schedule = _split_karras(name.removeprefix("k_").replace(" ", "_"), schedule)
    # A ComfyUI pair of the table first: "lms" is an A1111 name too, but ("lms", "ddim_uniform") is PLMS.
    canonical = from_comfyui(comfy, comfy_schedule, exact=True) if comfy_schedule else None
    canonical = canonical or from_a1111(name, schedule) or from_comfyui(comfy, comfy_schedule)
    if canonical is not None:
        return canonical
    # Drop words that belong to no known name ("Test", "New", "alt") and try again.
    kept = " ".join(word for word in name.split() if word in _WORDS)
    if kept and kept != name:
        return normalise_sampler(kept, schedule)
    return None


assert all(normalise_sampler(name) == name for name in SAMPLER_TABLE), "canonical names read as themselves"
