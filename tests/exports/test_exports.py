"""Each export format against an example written out by hand."""

from __future__ import annotations

import ast
import json

import pytest

from diffagent.catalog import Catalog
from diffagent.exports import EXPORTERS, export, export_inputs
from diffagent.exports.comfyui import COMFY_SAMPLERS
from tests.exports.examples import (
    CATALOG,
    assert_links_typed,
    checkpoint_inputs,
    flux_lora_inputs,
    lora_inputs,
)


def test_a1111_infotext_lora():
    assert export("a1111", lora_inputs()) == (
        "a knight, pixel art <lora:pixel-art-xl:0.8>\n"
        "Negative prompt: blurry, lowres\n"
        "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 42, Size: 1024x768, "
        'Model hash: e6bb9ea85b, Model: juggernautXL_v9, Lora hashes: "pixel-art-xl: aaaaaaaaaa"'
    )


def test_a1111_infotext_checkpoint_without_hash_or_negative():
    assert export("a1111", checkpoint_inputs()) == (
        "portrait photo, 85mm\n"
        "Steps: 25, Sampler: Euler a, CFG scale: 5.5, Seed: 7, Size: 512x768, Model: realisticVision_v51"
    )


def test_comfyui_workflow_lora():
    assert json.loads(export("comfyui", lora_inputs())) == {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "juggernautXL_v9.safetensors"}},
        "2": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["1", 0],
                "clip": ["1", 1],
                "lora_name": "pixel-art-xl.safetensors",
                "strength_model": 0.8,
                "strength_clip": 0.8,
            },
        },
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a knight, pixel art", "clip": ["2", 1]}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, lowres", "clip": ["2", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
        "6": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 42,
                "steps": 30,
                "cfg": 7.0,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                "denoise": 1.0,
                "model": ["2", 0],
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["5", 0],
            },
        },
        "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
        "8": {"class_type": "SaveImage", "inputs": {"filename_prefix": "diffagent", "images": ["7", 0]}},
    }


def test_comfyui_links_point_at_outputs_of_the_right_type():
    workflow = json.loads(export("comfyui", checkpoint_inputs()))
    assert "LoraLoader" not in {n["class_type"] for n in workflow.values()}
    assert_links_typed(workflow)
    sampler = next(n for n in workflow.values() if n["class_type"] == "KSampler")
    assert sampler["inputs"]["sampler_name"] == "euler_ancestral"
    assert_links_typed(json.loads(export("comfyui", flux_lora_inputs())))


COMFY_SAMPLER_NAMES = {"euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast"}
COMFY_SAMPLER_NAMES |= {"dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde"}
COMFY_SAMPLER_NAMES |= {"ddim", "uni_pc"}


def test_comfy_sampler_table_uses_comfy_names():
    assert {s for s, _ in COMFY_SAMPLERS.values()} <= COMFY_SAMPLER_NAMES
    assert {k for _, k in COMFY_SAMPLERS.values()} <= {"normal", "karras", "ddim_uniform"}
    assert COMFY_SAMPLERS["DPM++ 2M SDE Karras"] == ("dpmpp_2m_sde", "karras")


def test_diffusers_snippet_lora():
    assert export("diffusers", lora_inputs()) == (
        "# Pixel Art XL (LORA, SDXL 1.0): https://civitai.com/models/135?modelVersionId=1350\n"
        "# Download the files named below from Civitai into this folder, then run this script.\n"
        "# Fetches the pipeline's configs from the Hugging Face repository "
        "'stabilityai/stable-diffusion-xl-base-1.0' once; export with DIFFAGENT_SDXL_CONFIG set to a "
        "local diffusers folder to run offline.\n"
        "import torch\n"
        "from diffusers import StableDiffusionXLPipeline, DPMSolverMultistepScheduler\n"
        "\n"
        'device = "cuda" if torch.cuda.is_available() else "cpu"\n'
        'dtype = torch.float16 if device == "cuda" else torch.float32\n'
        "pipe = StableDiffusionXLPipeline.from_single_file('juggernautXL_v9.safetensors', "
        "config='stabilityai/stable-diffusion-xl-base-1.0', dtype=dtype)\n"
        "pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, "
        "use_karras_sigmas=True)\n"
        'pipe.load_lora_weights(".", weight_name=\'pixel-art-xl.safetensors\', adapter_name="lora")\n'
        'pipe.set_adapters(["lora"], adapter_weights=[0.8])\n'
        "pipe = pipe.to(device)\n"
        "image = pipe(\n"
        "    prompt='a knight, pixel art',\n"
        "    negative_prompt='blurry, lowres',\n"
        "    width=1024,\n"
        "    height=768,\n"
        "    num_inference_steps=30,\n"
        "    guidance_scale=7.0,\n"
        "    generator=torch.Generator(device).manual_seed(42),\n"
        ").images[0]\n"
        "image.save('diffagent.png')\n"
    )


@pytest.mark.parametrize("inputs", ["lora", "checkpoint", "flux"])
def test_diffusers_snippet_compiles_and_names_real_classes(inputs):
    import diffusers

    made = {"lora": lora_inputs, "checkpoint": checkpoint_inputs, "flux": flux_lora_inputs}[inputs]()
    tree = ast.parse(export("diffusers", made))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
    assert all(hasattr(diffusers, name) for name in imported)
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert made.checkpoint_file in strings and made.prompt in strings
    assert (made.lora_file in strings) == (made.lora_file is not None)


def test_hostile_prompt_stays_a_string_literal():
    made = export_inputs(checkpoint_inputs().api, CATALOG, "x')\nimport os; os.system('boom')#\n")
    calls = [n for n in ast.walk(ast.parse(export("diffusers", made))) if isinstance(n, ast.Call)]
    assert not any(getattr(c.func, "attr", "") == "system" for c in calls)


def test_unknown_format_and_missing_file_name_are_named():
    with pytest.raises(ValueError, match="'png'"):
        export("png", lora_inputs())
    bare = Catalog(entries=[{**CATALOG.entries[2], "file_name": ""}], fingerprint="bare")
    with pytest.raises(ValueError, match="Realistic Vision.*no file_name"):
        export_inputs(checkpoint_inputs().api, bare, "a cat")
    assert set(EXPORTERS) == {"a1111", "a1111-api", "comfyui", "diffusers"}


def test_diffusers_snippet_of_a_pony_model_is_sdxl():
    api = checkpoint_inputs().api.model_copy(update={"base_model": "Pony"})
    made = export_inputs(api, CATALOG, "a pony")
    assert "StableDiffusionXLPipeline.from_single_file(" in export("diffusers", made)
