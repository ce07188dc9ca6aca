"""A1111 / Forge API payload: the JSON body of `POST /sdapi/v1/txt2img`, how scripts drive them.

Field names are those of A1111's StableDiffusionProcessingTxt2Img (modules/processing.py), which
modules/api/models.py turns into the request model: prompt, negative_prompt, sampler_name,
scheduler, steps, cfg_scale, width, height, seed, override_settings; Forge adds
distilled_cfg_scale. `override_settings` are A1111 options applied for this request only
(restored afterwards): `sd_model_checkpoint` by file name (one of the checkpoint's aliases in
A1111 and Forge; an unknown one is dropped and the loaded model renders), and
`CLIP_stop_at_last_layers`, always set for SD so a server whose own clip skip is 2 does not change
the answer's. Forge takes the Flux VAE and text encoders by file name in `forge_additional_modules`.
"""

from __future__ import annotations

from typing import Any

from diffagent.exports.a1111 import prompt_with_lora, require_a1111
from diffagent.exports.architecture_facts import EXPORT_FACTS, companion_files
from diffagent.exports.inputs import ExportInputs
from diffagent.render.architectures import TAKES_NEGATIVE_PROMPT, takes_distilled_guidance
from schemas.t2i import architecture_of

KARRAS_SUFFIX = " Karras"
# Forge's schedule for Flux (what it defaults to, and what ComfyUI's Flux examples use: simple).
FLUX_SCHEDULE = "Simple"


def sampler_and_schedule(sampler: str, architecture: str) -> tuple[str, str]:
    """(A1111 sampler_name, scheduler label) for a SAMPLERS name.

    STAND-IN until the sampler table (canonical sampler -> A1111 name + schedule type) lands: a
    " Karras" name splits as A1111 >= 1.9 splits it; any other keeps schedule "Automatic" (the same
    as sending the bare name), or on Flux Forge's "Simple" (as the ComfyUI export's `simple`)."""
    if sampler.endswith(KARRAS_SUFFIX):
        return sampler[: -len(KARRAS_SUFFIX)], "Karras"
    return sampler, FLUX_SCHEDULE if architecture == "flux" else "Automatic"


def payload(inputs: ExportInputs) -> dict[str, Any]:
    api = inputs.api
    require_a1111(api.base_model)
    architecture = architecture_of(api.base_model)
    sampler_name, scheduler = sampler_and_schedule(api.sampling_method, architecture)
    flux = architecture == "flux"
    body: dict[str, Any] = {
        "prompt": prompt_with_lora(inputs),
        "negative_prompt": inputs.negative_prompt if TAKES_NEGATIVE_PROMPT[architecture] else "",
        "sampler_name": sampler_name,
        "scheduler": scheduler,
        "steps": api.sampling_steps,
        "cfg_scale": 1.0 if flux else api.cfg_scale,
        "width": api.width,
        "height": api.height,
        "seed": inputs.seed,
    }
    if takes_distilled_guidance(api.base_model):
        body["distilled_cfg_scale"] = api.cfg_scale
    settings: dict[str, Any] = {"sd_model_checkpoint": inputs.checkpoint_file}
    if EXPORT_FACTS[architecture].takes_clip_skip:
        settings["CLIP_stop_at_last_layers"] = api.clip_skip
    if companion_files(architecture):
        settings["forge_additional_modules"] = sorted(companion_files(architecture))
    body["override_settings"] = settings
    return body
