"""Flux.1 answers exported as Flux runs in each tool: diffusers, Forge's infotext, ComfyUI."""

from __future__ import annotations

import json

from diffagent.exports import export, export_inputs
from tests.exports.examples import CATALOG, flux_lora_inputs


def test_diffusers_snippet_flux_loads_the_transformer_and_takes_guidance():
    """A Flux file is the transformer: the rest comes from FLUX.1-dev; flow-matching Euler,
    bfloat16 on GPU, guidance 3.5, and no negative prompt (FluxPipeline takes none)."""
    assert export("diffusers", flux_lora_inputs()) == (
        "# Anime Flux (LORA, Flux.1 D): https://civitai.com/models/702?modelVersionId=7020\n"
        "# Download the files named below from Civitai into this folder, then run this script.\n"
        "# Needs the gated Hugging Face repository 'black-forest-labs/FLUX.1-dev' for the pipeline's "
        "configs, text encoders and VAE: accept its licence on huggingface.co and log in "
        "(`hf auth login`), or export with DIFFAGENT_FLUX_CONFIG set to a local copy to run offline.\n"
        "import torch\n"
        "from diffusers import FluxPipeline, FluxTransformer2DModel, FlowMatchEulerDiscreteScheduler\n"
        "\n"
        'device = "cuda" if torch.cuda.is_available() else "cpu"\n'
        'dtype = torch.bfloat16 if device == "cuda" else torch.float32\n'
        "transformer = FluxTransformer2DModel.from_single_file('fluxRealism_v1.safetensors', "
        "config='black-forest-labs/FLUX.1-dev', subfolder=\"transformer\", dtype=dtype)\n"
        "pipe = FluxPipeline.from_pretrained('black-forest-labs/FLUX.1-dev', transformer=transformer, "
        "dtype=dtype)\n"
        "pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(pipe.scheduler.config)\n"
        'pipe.load_lora_weights(".", weight_name=\'animeFlux.safetensors\', adapter_name="lora")\n'
        'pipe.set_adapters(["lora"], adapter_weights=[1])\n'
        "pipe = pipe.to(device)\n"
        "image = pipe(\n"
        "    prompt='an anime fox',\n"
        "    width=1024,\n"
        "    height=1024,\n"
        "    num_inference_steps=20,\n"
        "    guidance_scale=3.5,\n"
        "    generator=torch.Generator(device).manual_seed(3),\n"
        ").images[0]\n"
        "image.save('diffagent.png')\n"
    )


def test_a1111_infotext_flux_is_forge_s():
    """Forge's Flux fields: CFG scale 1 and the guidance as Distilled CFG Scale; no negative prompt."""
    assert export("a1111", flux_lora_inputs()) == (
        "an anime fox <lora:animeFlux:1>\n"
        "Steps: 20, Sampler: Euler, Schedule type: Simple, CFG scale: 1, Distilled CFG Scale: 3.5, "
        "Seed: 3, Size: 1024x1024, "
        "Model: fluxRealism_v1, Module 1: ae, Module 2: clip_l, Module 3: t5xxl_fp16"
    )


def test_comfyui_workflow_flux_lora():
    """Flux: the transformer file through UNETLoader, T5 + CLIP-L and the BFL VAE by their ComfyUI
    names, the answer's guidance in FluxGuidance, KSampler CFG 1, no negative text."""
    assert json.loads(export("comfyui", flux_lora_inputs())) == {
        "1": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": "fluxRealism_v1.safetensors", "weight_dtype": "default"},
        },
        "2": {
            "class_type": "DualCLIPLoader",
            "inputs": {
                "clip_name1": "t5xxl_fp16.safetensors",
                "clip_name2": "clip_l.safetensors",
                "type": "flux",
            },
        },
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
        "4": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["1", 0],
                "clip": ["2", 0],
                "lora_name": "animeFlux.safetensors",
                "strength_model": 1.0,
                "strength_clip": 1.0,
            },
        },
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "an anime fox", "clip": ["4", 1]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "7": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["5", 0], "guidance": 3.5}},
        "8": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": 1024, "height": 1024, "batch_size": 1},
        },
        "9": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 3,
                "steps": 20,
                "cfg": 1.0,
                "sampler_name": "euler",
                "scheduler": "simple",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["7", 0],
                "negative": ["6", 0],
                "latent_image": ["8", 0],
            },
        },
        "10": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["3", 0]}},
        "11": {"class_type": "SaveImage", "inputs": {"filename_prefix": "diffagent", "images": ["10", 0]}},
    }
    schnell = flux_lora_inputs().api.model_copy(update={"base_model": "Flux.1 S", "cfg_scale": 1.0})
    made = json.loads(export("comfyui", export_inputs(schnell, CATALOG, "an anime fox")))
    assert "FluxGuidance" not in {n["class_type"] for n in made.values()}
