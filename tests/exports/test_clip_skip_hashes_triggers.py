"""Clip skip, LoRA hashes, Forge's modules, trigger words and LoRA weight in every export, against
what each tool expects (A1111's reading rules, ComfyUI's stock nodes, diffusers' arguments)."""

from __future__ import annotations

import ast
import json

from diffagent.exports import export, export_inputs
from tests.exports.a1111_reader import read_infotext
from tests.exports.examples import (
    CATALOG,
    assert_links_typed,
    checkpoint_inputs,
    flux_checkpoint_inputs,
    pony_inputs,
    sd15_lora_inputs,
)

TRIGGERS = {"trigger_words": ["ink lines", "Snow"], "lora_weight": 0.7}


def test_a1111_sd15_lora_with_clip_skip_trigger_words_and_hash():
    """ "Snow" is already in the prompt (any case): only "ink lines" is added, before the LoRA tag."""
    text = export("a1111", sd15_lora_inputs(**TRIGGERS))
    assert text == (
        "a fox in the snow, ink lines <lora:inkLines_v2:0.7>\n"
        "Negative prompt: photo\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 11, Size: 512x512, Model: realisticVision_v51, "
        'Clip skip: 2, Lora hashes: "inkLines_v2: 0123456789"'
    )
    read = read_infotext(text)
    assert read["Prompt"] == "a fox in the snow, ink lines <lora:inkLines_v2:0.7>"
    assert read["Negative prompt"] == "photo"
    assert (read["Clip skip"], read["Lora hashes"]) == ("2", "inkLines_v2: 0123456789")
    assert (read["Size-1"], read["Size-2"], read["Model"]) == ("512", "512", "realisticVision_v51")


def test_a1111_reads_clip_skip_1_when_none_is_written():
    text = export("a1111", checkpoint_inputs())
    assert "Clip skip" not in text and read_infotext(text)["Clip skip"] == "1"


def test_a1111_pony_checkpoint_clip_skip_and_model_hash():
    read = read_infotext(export("a1111", pony_inputs()))
    assert read["Clip skip"] == "2" and read["Model hash"] == "fedcba9876"
    assert read["Sampler"] == "DPM++ SDE Karras" and "Lora hashes" not in read


def test_forge_flux_checkpoint_names_its_modules_and_takes_no_clip_skip():
    made = flux_checkpoint_inputs()
    made = export_inputs(made.api.model_copy(update={"clip_skip": 2}), CATALOG, "a red fox", seed=1)
    text = export("a1111", made)
    assert text == (
        "a red fox\n"
        "Steps: 20, Sampler: Euler, Schedule type: Simple, CFG scale: 1, Distilled CFG Scale: 3.5, "
        "Seed: 1, Size: 1024x1024, "
        "Model: fluxRealism_v1, Module 1: ae, Module 2: clip_l, Module 3: t5xxl_fp16"
    )
    read = read_infotext(text)
    assert [read[f"Module {i}"] for i in (1, 2, 3)] == ["ae", "clip_l", "t5xxl_fp16"]
    assert read["Clip skip"] == "1"


def test_comfyui_sd15_lora_clip_skip_trigger_words_and_weight():
    workflow = json.loads(export("comfyui", sd15_lora_inputs(**TRIGGERS)))
    assert workflow == {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "realisticVision_v51.safetensors"},
        },
        "2": {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["1", 1], "stop_at_clip_layer": -2}},
        "3": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["1", 0],
                "clip": ["2", 0],
                "lora_name": "inkLines_v2.safetensors",
                "strength_model": 0.7,
                "strength_clip": 0.7,
            },
        },
        "4": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a fox in the snow, ink lines", "clip": ["3", 1]},
        },
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "photo", "clip": ["3", 1]}},
        "6": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "7": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 11,
                "steps": 20,
                "cfg": 7.0,
                "sampler_name": "euler_ancestral",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["3", 0],
                "positive": ["4", 0],
                "negative": ["5", 0],
                "latent_image": ["6", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["1", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "diffagent", "images": ["8", 0]}},
    }
    assert_links_typed(workflow)


def test_comfyui_pony_checkpoint_encodes_through_clip_set_last_layer():
    workflow = json.loads(export("comfyui", pony_inputs()))
    assert workflow["2"] == {
        "class_type": "CLIPSetLastLayer",
        "inputs": {"clip": ["1", 1], "stop_at_clip_layer": -2},
    }
    encoders = [n for n in workflow.values() if n["class_type"] == "CLIPTextEncode"]
    assert [n["inputs"]["clip"] for n in encoders] == [["2", 0], ["2", 0]]
    assert_links_typed(workflow)


def test_comfyui_flux_and_clip_skip_1_have_no_clip_set_last_layer():
    flux = flux_checkpoint_inputs()
    flux = export_inputs(flux.api.model_copy(update={"clip_skip": 2}), CATALOG, "a red fox")
    for made in (flux, checkpoint_inputs()):
        workflow = json.loads(export("comfyui", made))
        assert "CLIPSetLastLayer" not in {n["class_type"] for n in workflow.values()}


def _call_keywords(script: str, name: str) -> dict:
    """The literal keyword arguments of the script's call to `name` (a function or method)."""
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == name:
            return {
                k.arg: ast.literal_eval(k.value) for k in node.keywords if isinstance(k.value, ast.Constant)
            }
    raise AssertionError(f"no call to {name} in the script")


def test_diffusers_sd15_lora_passes_clip_skip_minus_one_weight_and_trigger_words():
    script = export("diffusers", sd15_lora_inputs(**TRIGGERS))
    call = _call_keywords(script, "pipe")
    assert call["clip_skip"] == 1 and call["prompt"] == "a fox in the snow, ink lines"
    assert call["negative_prompt"] == "photo" and call["num_inference_steps"] == 20
    assert 'pipe.set_adapters(["lora"], adapter_weights=[0.7])' in script
    load = _call_keywords(script, "from_single_file")
    assert load == {
        "config": "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "safety_checker": None,
        "requires_safety_checker": False,
    }
    assert "torch_dtype" not in script


def test_diffusers_pony_clip_skip_without_sd15_workaround_and_flux_without_clip_skip():
    script = export("diffusers", pony_inputs())
    assert _call_keywords(script, "pipe")["clip_skip"] == 1 and "text_model" not in script
    assert _call_keywords(script, "from_single_file") == {
        "config": "stabilityai/stable-diffusion-xl-base-1.0"
    }
    flux = flux_checkpoint_inputs()
    flux = export_inputs(flux.api.model_copy(update={"clip_skip": 2}), CATALOG, "a red fox")
    assert "clip_skip" not in _call_keywords(export("diffusers", flux), "pipe")
    assert "clip_skip" not in _call_keywords(export("diffusers", checkpoint_inputs()), "pipe")


# ComfyUI's stock nodes' number inputs (nodes.py INPUT_TYPES at Comfy-Org/ComfyUI a125cd8):
# (type, min, max); `POST /prompt` casts INT/FLOAT values and refuses any outside [min, max].
COMFY_NUMBER_INPUTS = {
    ("CLIPSetLastLayer", "stop_at_clip_layer"): (int, -24, -1),
    ("LoraLoader", "strength_model"): (float, -100.0, 100.0),
    ("LoraLoader", "strength_clip"): (float, -100.0, 100.0),
    ("KSampler", "seed"): (int, 0, 0xFFFFFFFFFFFFFFFF),
    ("KSampler", "steps"): (int, 1, 10000),
    ("KSampler", "cfg"): (float, 0.0, 100.0),
    ("KSampler", "denoise"): (float, 0.0, 1.0),
    ("EmptyLatentImage", "width"): (int, 16, 16384),
    ("EmptyLatentImage", "height"): (int, 16, 16384),
    ("EmptyLatentImage", "batch_size"): (int, 1, 4096),
    ("EmptySD3LatentImage", "width"): (int, 16, 16384),
    ("EmptySD3LatentImage", "height"): (int, 16, 16384),
    ("EmptySD3LatentImage", "batch_size"): (int, 1, 4096),
    ("FluxGuidance", "guidance"): (float, 0.0, 100.0),
}


def test_comfyui_numbers_are_in_the_stock_nodes_ranges():
    """The largest clip skip an answer may have (12) is still a layer ComfyUI takes."""
    deepest = sd15_lora_inputs(lora_weight=0.35)
    deepest = export_inputs(
        deepest.api.model_copy(update={"clip_skip": 12}), CATALOG, "a fox", lora_weight=0.35
    )
    for made in (deepest, pony_inputs(), flux_checkpoint_inputs()):
        for node in json.loads(export("comfyui", made)).values():
            for name, value in node["inputs"].items():
                if (node["class_type"], name) in COMFY_NUMBER_INPUTS:
                    kind, low, high = COMFY_NUMBER_INPUTS[node["class_type"], name]
                    assert isinstance(value, kind) and low <= value <= high, (node, name)
                else:
                    assert not isinstance(value, int | float), (node["class_type"], name)


def test_lora_hashes_prefer_the_autov3_civitai_lists_as_a1111_writes_it():
    """A1111 names a LoRA by 12 digits of its tensor data's SHA256 (Civitai's AutoV3), lower case."""
    made = sd15_lora_inputs(**TRIGGERS)
    made = made.__class__(**{**made.__dict__, "lora_autov3": "6F5F908A07F3"})
    read = read_infotext(export("a1111", made))
    assert read["Lora hashes"] == "inkLines_v2: 6f5f908a07f3"
