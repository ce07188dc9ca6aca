"""`--format a1111-api`: the body of A1111's / Forge's `POST /sdapi/v1/txt2img`, field by field."""

from __future__ import annotations

import pytest

from diffagent.exports import export_inputs, export_object
from diffagent.exports.a1111 import a1111_sampler
from schemas.t2i import SAMPLERS
from tests.exports.examples import CATALOG, flux_lora_inputs, pony_inputs, sd15_lora_inputs

# StableDiffusionProcessingTxt2Img's fields that the API request model takes (modules/processing.py,
# modules/api/models.py), and Forge's distilled_cfg_scale.
TXT2IMG_FIELDS = {"prompt", "negative_prompt", "seed", "sampler_name", "scheduler", "steps", "cfg_scale"}
TXT2IMG_FIELDS |= {"width", "height", "override_settings", "distilled_cfg_scale"}
# A1111 1.10's sampler names and schedule labels (modules/sd_samplers*.py, modules/sd_schedulers.py).
A1111_SAMPLERS = {"DPM++ 2M", "DPM++ SDE", "DPM++ 2M SDE", "DPM++ 2M SDE Heun", "DPM++ 2S a", "DPM++ 3M SDE"}
A1111_SAMPLERS |= {"Euler a", "Euler", "LMS", "Heun", "DPM2", "DPM2 a", "DPM fast", "DPM adaptive"}
A1111_SAMPLERS |= {"Restart", "DDIM", "DDIM CFG++", "PLMS", "UniPC", "LCM"}
A1111_SCHEDULES = {"Automatic", "Uniform", "Karras", "Exponential", "Polyexponential", "SGM Uniform"}
A1111_SCHEDULES |= {"KL Optimal", "Align Your Steps", "Simple", "Normal", "DDIM", "Beta"}


def test_sd15_lora_body():
    body = export_object("a1111-api", sd15_lora_inputs(trigger_words=["ink lines"], lora_weight=0.6))
    assert body == {
        "prompt": "a fox in the snow, ink lines <lora:inkLines_v2:0.6>",
        "negative_prompt": "photo",
        "sampler_name": "Euler a",
        "scheduler": "Automatic",
        "steps": 20,
        "cfg_scale": 7.0,
        "width": 512,
        "height": 512,
        "seed": 11,
        "override_settings": {
            "sd_model_checkpoint": "realisticVision_v51.safetensors",
            "CLIP_stop_at_last_layers": 2,
        },
    }


def test_pony_checkpoint_body_splits_karras_into_the_scheduler():
    body = export_object("a1111-api", pony_inputs())
    assert (body["prompt"], body["negative_prompt"]) == ("score_9, a knight", "score_4")
    assert (body["sampler_name"], body["scheduler"]) == ("DPM++ SDE", "Karras")
    assert (body["width"], body["height"], body["steps"], body["cfg_scale"]) == (832, 1216, 25, 6.0)
    assert body["override_settings"] == {
        "sd_model_checkpoint": "ponyRealism_v22.safetensors",
        "CLIP_stop_at_last_layers": 2,
    }
    assert set(body) <= TXT2IMG_FIELDS


def test_flux_body_is_forge_s():
    """Forge: CFG 1 with the guidance as distilled_cfg_scale, the VAE and text encoders by name."""
    assert export_object("a1111-api", flux_lora_inputs()) == {
        "prompt": "an anime fox <lora:animeFlux:1>",
        "negative_prompt": "",
        "sampler_name": "Euler",
        "scheduler": "Simple",
        "steps": 20,
        "cfg_scale": 1.0,
        "width": 1024,
        "height": 1024,
        "seed": 3,
        "distilled_cfg_scale": 3.5,
        "override_settings": {
            "sd_model_checkpoint": "fluxRealism_v1.safetensors",
            "forge_additional_modules": ["ae.safetensors", "clip_l.safetensors", "t5xxl_fp16.safetensors"],
        },
    }
    schnell = flux_lora_inputs().api.model_copy(update={"base_model": "Flux.1 S", "cfg_scale": 1.0})
    assert "distilled_cfg_scale" not in export_object("a1111-api", export_inputs(schnell, CATALOG, "a fox"))


@pytest.mark.parametrize("base_model", ["SD 1.5", "Flux.1 D"])
def test_every_sampler_is_an_a1111_sampler_and_schedule(base_model):
    for sampler in SAMPLERS:
        name, schedule = a1111_sampler(sampler, base_model)
        assert name in A1111_SAMPLERS and schedule in A1111_SCHEDULES, sampler
