"""ComfyUI API-format workflow: the JSON that ComfyUI's `POST /prompt` takes as `{"prompt": ...}`.

Node id -> {"class_type", "inputs"}; a link is `[node id, output index]`. Stock nodes only:
CheckpointLoaderSimple (outputs MODEL 0, CLIP 1, VAE 2), LoraLoader (MODEL 0, CLIP 1),
CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode, SaveImage.
"""

from __future__ import annotations

import json
from typing import Any

from diffagent.exports.inputs import ExportInputs
from schemas.t2i import SAMPLERS

# A1111 sampler name -> ComfyUI (sampler_name, scheduler), names from comfy/samplers.py.
# "Karras" in an A1111 name is ComfyUI's karras scheduler. ComfyUI has no PLMS: its nearest
# linear multistep sampler is lms. A1111's DDIM steps uniformly over timesteps: ddim_uniform.
COMFY_SAMPLERS: dict[str, tuple[str, str]] = {
    "Euler a": ("euler_ancestral", "normal"),
    "Euler": ("euler", "normal"),
    "LMS": ("lms", "normal"),
    "LMS Karras": ("lms", "karras"),
    "Heun": ("heun", "normal"),
    "DPM2": ("dpm_2", "normal"),
    "DPM2 Karras": ("dpm_2", "karras"),
    "DPM2 a": ("dpm_2_ancestral", "normal"),
    "DPM2 a Karras": ("dpm_2_ancestral", "karras"),
    "DPM++ 2S a": ("dpmpp_2s_ancestral", "normal"),
    "DPM++ 2S a Karras": ("dpmpp_2s_ancestral", "karras"),
    "DPM++ 2M": ("dpmpp_2m", "normal"),
    "DPM++ 2M Karras": ("dpmpp_2m", "karras"),
    "DPM++ SDE": ("dpmpp_sde", "normal"),
    "DPM++ SDE Karras": ("dpmpp_sde", "karras"),
    "DPM++ 2M SDE": ("dpmpp_2m_sde", "normal"),
    "DPM++ 2M SDE Karras": ("dpmpp_2m_sde", "karras"),
    "DPM fast": ("dpm_fast", "normal"),
    "DPM adaptive": ("dpm_adaptive", "normal"),
    "DDIM": ("ddim", "ddim_uniform"),
    "PLMS": ("lms", "normal"),
    "UniPC": ("uni_pc", "normal"),
}
assert set(COMFY_SAMPLERS) == set(SAMPLERS), "every A1111 sampler in schemas.t2i.SAMPLERS needs a mapping"

FILENAME_PREFIX = "diffagent"


def workflow(inputs: ExportInputs) -> dict[str, dict[str, Any]]:
    api = inputs.api
    sampler_name, scheduler = COMFY_SAMPLERS[api.sampling_method]
    nodes: dict[str, dict[str, Any]] = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": inputs.checkpoint_file}}
    }
    model, clip = ["1", 0], ["1", 1]
    if inputs.lora_file is not None:
        nodes["2"] = {
            "class_type": "LoraLoader",
            "inputs": {
                "model": model,
                "clip": clip,
                "lora_name": inputs.lora_file,
                "strength_model": inputs.lora_weight,
                "strength_clip": inputs.lora_weight,
            },
        }
        model, clip = ["2", 0], ["2", 1]
    nodes["3"] = {"class_type": "CLIPTextEncode", "inputs": {"text": inputs.prompt, "clip": clip}}
    nodes["4"] = {"class_type": "CLIPTextEncode", "inputs": {"text": inputs.negative_prompt, "clip": clip}}
    nodes["5"] = {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": api.width, "height": api.height, "batch_size": 1},
    }
    nodes["6"] = {
        "class_type": "KSampler",
        "inputs": {
            "seed": inputs.seed,
            "steps": api.sampling_steps,
            "cfg": api.cfg_scale,
            "sampler_name": sampler_name,
            "scheduler": scheduler,
            "denoise": 1.0,
            "model": model,
            "positive": ["3", 0],
            "negative": ["4", 0],
            "latent_image": ["5", 0],
        },
    }
    nodes["7"] = {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}}
    nodes["8"] = {
        "class_type": "SaveImage",
        "inputs": {"filename_prefix": FILENAME_PREFIX, "images": ["7", 0]},
    }
    return nodes


def workflow_json(inputs: ExportInputs) -> str:
    return json.dumps(workflow(inputs), indent=2, ensure_ascii=False)
