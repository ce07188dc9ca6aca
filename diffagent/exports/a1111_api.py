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

from diffagent.exports.a1111 import a1111_sampler, prompt_with_lora, require_a1111
from diffagent.exports.inputs import ExportInputs
from schemas.architectures import architecture_for, takes_distilled_guidance


def payload(inputs: ExportInputs) -> dict[str, Any]:
    api = inputs.api
    require_a1111(api.base_model)
    architecture = architecture_for(api.base_model)
    # The same (sampler, Schedule type) pair the infotext reads back as (exports.a1111).
    sampler_name, scheduler = a1111_sampler(api.sampling_method, api.base_model)
    guided = architecture.takes_negative_prompt  # classifier-free guidance; Flux: none (CFG 1)
    body: dict[str, Any] = {
        "prompt": prompt_with_lora(inputs),
        "negative_prompt": inputs.negative_prompt if guided else "",
        "sampler_name": sampler_name,
        "scheduler": scheduler,
        "steps": api.sampling_steps,
        "cfg_scale": api.cfg_scale if guided else 1.0,
        "width": api.width,
        "height": api.height,
        "seed": inputs.seed,
    }
    if takes_distilled_guidance(api.base_model):
        body["distilled_cfg_scale"] = api.cfg_scale
    settings: dict[str, Any] = {"sd_model_checkpoint": inputs.checkpoint_file}
    if architecture.export.takes_clip_skip:
        settings["CLIP_stop_at_last_layers"] = api.clip_skip
    if architecture.forge_modules:
        settings["forge_additional_modules"] = sorted(architecture.forge_modules)
    body["override_settings"] = settings
    return body
