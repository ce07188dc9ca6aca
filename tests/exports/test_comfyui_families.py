"""ComfyUI workflows of the families a real ComfyUI (Comfy-Org/ComfyUI a125cd8, run by
bench/comfyui_check.py) refused or that depend on its node lists: hand-written expectations."""

from __future__ import annotations

from diffagent.catalog import Catalog
from diffagent.exports import export_inputs, export_object
from schemas.architectures import ARCHITECTURE_TABLE
from schemas.t2i import T2IApi
from tests.exports.examples import entry

CATALOG = Catalog(
    entries=[
        entry("SD35 Concept", "Checkpoint", "SD 3.5 Large", 14800, "SD35Concept_v14800.safetensors"),
        entry("SD35 Bokeh", "LORA", "SD 3.5 Large", 14900, "SD35Bokeh_v14900.safetensors"),
    ],
    fingerprint="sd3",
)


def test_sd35_lora_loads_the_checkpoint_and_the_three_text_encoders_as_comfyuis_example():
    """Stability's SD 3.5 file holds the MMDiT and its VAE, no text encoders: CheckpointLoaderSimple
    (from models/checkpoints, where `models fetch --layout comfyui` puts it) gives MODEL and VAE,
    TripleCLIPLoader the CLIP (clip-l, clip-g, t5 order). A125cd8 refused the earlier export, whose
    checkpoint name was not in CheckpointLoaderSimple's list (the layout had put it in diffusion_models)."""
    api = T2IApi(
        model="SD35 Bokeh",
        type="LORA",
        base_model="SD 3.5 Large",
        base_checkpoint="SD35 Concept",
        model_id=1490,
        version_id=14900,
        base_checkpoint_version_id=14800,
        width=1024,
        height=1024,
        sampling_method="Euler",
        sampling_steps=28,
        cfg_scale=3.5,
    )
    inputs = export_inputs(api, CATALOG, "a fox", "blurry", seed=7, lora_weight=0.6)
    assert export_object("comfyui", inputs) == {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "SD35Concept_v14800.safetensors"},
        },
        "2": {
            "class_type": "TripleCLIPLoader",
            "inputs": {
                "clip_name1": "clip_l.safetensors",
                "clip_name2": "clip_g.safetensors",
                "clip_name3": "t5xxl_fp16.safetensors",
            },
        },
        "3": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["1", 0],
                "clip": ["2", 0],
                "lora_name": "SD35Bokeh_v14900.safetensors",
                "strength_model": 0.6,
                "strength_clip": 0.6,
            },
        },
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox", "clip": ["3", 1]}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["3", 1]}},
        "6": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": 1024, "height": 1024, "batch_size": 1},
        },
        "7": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 7,
                "steps": 28,
                "cfg": 3.5,
                "sampler_name": "euler",
                "scheduler": "sgm_uniform",
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


# CLIPLoader's and DualCLIPLoader's `type` choices in ComfyUI's nodes.py at a125cd8 (Oct 2025).
COMFY_A125CD8_CLIP_TYPES = {
    "CLIPLoader": {
        "stable_diffusion",
        "stable_cascade",
        "sd3",
        "stable_audio",
        "mochi",
        "ltxv",
        "pixart",
        "cosmos",
        "lumina2",
        "wan",
        "hidream",
        "chroma",
        "ace",
        "omnigen2",
        "qwen_image",
        "hunyuan_image",
    },
    "DualCLIPLoader": {"sdxl", "sd3", "flux", "hunyuan_video", "hidream", "hunyuan_image"},
}
# Families released after that snapshot, whose type only a newer ComfyUI knows (Flux.2: Nov 2025).
NEWER_THAN_A125CD8 = {"flux2", "flux2-klein-4b", "flux2-klein-9b"}


def test_every_clip_type_is_one_comfyui_knows():
    for name, architecture in ARCHITECTURE_TABLE.items():
        facts = architecture.export
        if facts.comfyui_clip_type is None or name in NEWER_THAN_A125CD8:
            continue
        assert facts.comfyui_clip_type in COMFY_A125CD8_CLIP_TYPES[facts.comfyui_clip_loader], name
    assert {ARCHITECTURE_TABLE[name].export.comfyui_clip_type for name in NEWER_THAN_A125CD8} == {"flux2"}
