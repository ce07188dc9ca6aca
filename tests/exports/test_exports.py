"""Each export format against an example written out by hand."""

from __future__ import annotations

import ast
import json

import pytest

from diffagent.catalog import Catalog
from diffagent.exports import EXPORTERS, export, export_inputs
from diffagent.exports.comfyui import COMFY_SAMPLERS
from schemas.dabench import CatalogEntry
from schemas.t2i import T2IApi

SHA = "E6BB9EA85B" + "0" * 54


def _entry(model: str, kind: str, base: str, version_id: int, file_name: str, sha: str = "") -> dict:
    return CatalogEntry(
        model=model,
        model_id=version_id // 10,
        version_id=version_id,
        type=kind,
        base_model=base,
        model_description=f"{model}.",
        description_source="fallback",
        trained_words=[],
        tags=[],
        model_name=model,
        version_name="v1",
        download_count=1,
        thumbs_up_count=0,
        rating=0.0,
        rating_count=0,
        file_name=file_name,
        sha256=sha,
        download_url="",
        sample_count=0,
    ).model_dump()


CATALOG = Catalog(
    entries=[
        _entry("Juggernaut XL (v9)", "Checkpoint", "SDXL 1.0", 3480, "juggernautXL_v9.safetensors", SHA),
        _entry("Pixel Art XL", "LORA", "SDXL 1.0", 1350, "pixel-art-xl.safetensors", "AA" * 32),
        _entry("Realistic Vision", "Checkpoint", "SD 1.5", 1300, "realisticVision_v51.safetensors"),
        _entry("Flux Realism", "Checkpoint", "Flux.1 D", 6910, "fluxRealism_v1.safetensors"),
        _entry("Anime Flux", "LORA", "Flux.1 D", 7020, "animeFlux.safetensors"),
    ],
    fingerprint="test",
)


def _lora_inputs():
    api = T2IApi(
        model="Pixel Art XL",
        type="LORA",
        base_model="SDXL 1.0",
        base_checkpoint="Juggernaut XL (v9)",
        model_id=135,
        version_id=1350,
        base_checkpoint_version_id=3480,
        width=1024,
        height=768,
        sampling_method="DPM++ 2M Karras",
        sampling_steps=30,
        cfg_scale=7.0,
    )
    return export_inputs(api, CATALOG, "a knight, pixel art", "blurry, lowres", seed=42, lora_weight=0.8)


def _checkpoint_inputs():
    api = T2IApi(
        model="Realistic Vision",
        type="Checkpoint",
        base_model="SD 1.5",
        model_id=130,
        version_id=1300,
        width=512,
        height=768,
        sampling_method="Euler a",
        sampling_steps=25,
        cfg_scale=5.5,
    )
    return export_inputs(api, CATALOG, "portrait photo, 85mm", seed=7)


def test_a1111_infotext_lora():
    assert export("a1111", _lora_inputs()) == (
        "a knight, pixel art <lora:pixel-art-xl:0.8>\n"
        "Negative prompt: blurry, lowres\n"
        "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 42, Size: 1024x768, "
        "Model hash: e6bb9ea85b, Model: juggernautXL_v9"
    )


def test_a1111_infotext_checkpoint_without_hash_or_negative():
    assert export("a1111", _checkpoint_inputs()) == (
        "portrait photo, 85mm\n"
        "Steps: 25, Sampler: Euler a, CFG scale: 5.5, Seed: 7, Size: 512x768, Model: realisticVision_v51"
    )


def test_comfyui_workflow_lora():
    assert json.loads(export("comfyui", _lora_inputs())) == {
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


# Outputs of the stock nodes (ComfyUI nodes.py RETURN_TYPES): what a link may point at.
NODE_OUTPUTS = {
    "CheckpointLoaderSimple": ("MODEL", "CLIP", "VAE"),
    "LoraLoader": ("MODEL", "CLIP"),
    "CLIPTextEncode": ("CONDITIONING",),
    "EmptyLatentImage": ("LATENT",),
    "KSampler": ("LATENT",),
    "VAEDecode": ("IMAGE",),
    "SaveImage": (),
    "UNETLoader": ("MODEL",),
    "DualCLIPLoader": ("CLIP",),
    "VAELoader": ("VAE",),
    "FluxGuidance": ("CONDITIONING",),
    "EmptySD3LatentImage": ("LATENT",),
}
LINK_TYPES = {"model": "MODEL", "clip": "CLIP", "vae": "VAE", "positive": "CONDITIONING"}
LINK_TYPES |= {"conditioning": "CONDITIONING"}
LINK_TYPES |= {"negative": "CONDITIONING", "latent_image": "LATENT", "samples": "LATENT", "images": "IMAGE"}


def assert_links_typed(workflow: dict) -> None:
    for node in workflow.values():
        assert node["class_type"] in NODE_OUTPUTS
        for name, value in node["inputs"].items():
            if isinstance(value, list):
                source, index = value
                assert NODE_OUTPUTS[workflow[source]["class_type"]][index] == LINK_TYPES[name]


def test_comfyui_links_point_at_outputs_of_the_right_type():
    workflow = json.loads(export("comfyui", _checkpoint_inputs()))
    assert "LoraLoader" not in {n["class_type"] for n in workflow.values()}
    assert_links_typed(workflow)
    sampler = next(n for n in workflow.values() if n["class_type"] == "KSampler")
    assert sampler["inputs"]["sampler_name"] == "euler_ancestral"
    assert_links_typed(json.loads(export("comfyui", _flux_lora_inputs())))


COMFY_SAMPLER_NAMES = {"euler", "euler_ancestral", "heun", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast"}
COMFY_SAMPLER_NAMES |= {"dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde"}
COMFY_SAMPLER_NAMES |= {"ddim", "uni_pc"}


def test_comfy_sampler_table_uses_comfy_names():
    assert {s for s, _ in COMFY_SAMPLERS.values()} <= COMFY_SAMPLER_NAMES
    assert {k for _, k in COMFY_SAMPLERS.values()} <= {"normal", "karras", "ddim_uniform"}
    assert COMFY_SAMPLERS["DPM++ 2M SDE Karras"] == ("dpmpp_2m_sde", "karras")


def test_diffusers_snippet_lora():
    assert export("diffusers", _lora_inputs()) == (
        "# Pixel Art XL (LORA, SDXL 1.0): https://civitai.com/models/135?modelVersionId=1350\n"
        "# Download the files named below from Civitai into this folder, then run this script.\n"
        "import torch\n"
        "from diffusers import StableDiffusionXLPipeline, DPMSolverMultistepScheduler\n"
        "\n"
        'device = "cuda" if torch.cuda.is_available() else "cpu"\n'
        'dtype = torch.float16 if device == "cuda" else torch.float32\n'
        "pipe = StableDiffusionXLPipeline.from_single_file("
        "'juggernautXL_v9.safetensors', torch_dtype=dtype)\n"
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

    made = {"lora": _lora_inputs, "checkpoint": _checkpoint_inputs, "flux": _flux_lora_inputs}[inputs]()
    tree = ast.parse(export("diffusers", made))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
    assert all(hasattr(diffusers, name) for name in imported)
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert made.checkpoint_file in strings and made.prompt in strings
    assert (made.lora_file in strings) == (made.lora_file is not None)


def test_hostile_prompt_stays_a_string_literal():
    made = export_inputs(_checkpoint_inputs().api, CATALOG, "x')\nimport os; os.system('boom')#\n")
    calls = [n for n in ast.walk(ast.parse(export("diffusers", made))) if isinstance(n, ast.Call)]
    assert not any(getattr(c.func, "attr", "") == "system" for c in calls)


def test_unknown_format_and_missing_file_name_are_named():
    with pytest.raises(ValueError, match="'png'"):
        export("png", _lora_inputs())
    bare = Catalog(entries=[{**CATALOG.entries[2], "file_name": ""}], fingerprint="bare")
    with pytest.raises(ValueError, match="Realistic Vision.*no file_name"):
        export_inputs(_checkpoint_inputs().api, bare, "a cat")
    assert set(EXPORTERS) == {"a1111", "comfyui", "diffusers"}


def _flux_lora_inputs():
    api = T2IApi(
        model="Anime Flux",
        type="LORA",
        base_model="Flux.1 D",
        base_checkpoint="Flux Realism",
        model_id=702,
        version_id=7020,
        base_checkpoint_version_id=6910,
        width=1024,
        height=1024,
        sampling_method="Euler",
        sampling_steps=20,
        cfg_scale=3.5,
    )
    return export_inputs(api, CATALOG, "an anime fox", "ignored by flux", seed=3)


def test_diffusers_snippet_flux_loads_the_transformer_and_takes_guidance():
    """A Flux file is the transformer: the rest comes from FLUX.1-dev; flow-matching Euler,
    bfloat16 on GPU, guidance 3.5, and no negative prompt (FluxPipeline takes none)."""
    assert export("diffusers", _flux_lora_inputs()) == (
        "# Anime Flux (LORA, Flux.1 D): https://civitai.com/models/702?modelVersionId=7020\n"
        "# Download the files named below from Civitai into this folder, then run this script.\n"
        "import torch\n"
        "from diffusers import FluxPipeline, FluxTransformer2DModel, FlowMatchEulerDiscreteScheduler\n"
        "\n"
        'device = "cuda" if torch.cuda.is_available() else "cpu"\n'
        'dtype = torch.bfloat16 if device == "cuda" else torch.float32\n'
        "transformer = FluxTransformer2DModel.from_single_file('fluxRealism_v1.safetensors', "
        "config='black-forest-labs/FLUX.1-dev', subfolder=\"transformer\", torch_dtype=dtype)\n"
        "pipe = FluxPipeline.from_pretrained('black-forest-labs/FLUX.1-dev', transformer=transformer, "
        "torch_dtype=dtype)\n"
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
    assert export("a1111", _flux_lora_inputs()) == (
        "an anime fox <lora:animeFlux:1>\n"
        "Steps: 20, Sampler: Euler, CFG scale: 1, Distilled CFG Scale: 3.5, Seed: 3, Size: 1024x1024, "
        "Model: fluxRealism_v1"
    )


def test_comfyui_workflow_flux_lora():
    """Flux: the transformer file through UNETLoader, T5 + CLIP-L and the BFL VAE by their ComfyUI
    names, the answer's guidance in FluxGuidance, KSampler CFG 1, no negative text."""
    assert json.loads(export("comfyui", _flux_lora_inputs())) == {
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
    schnell = _flux_lora_inputs().api.model_copy(update={"base_model": "Flux.1 S", "cfg_scale": 1.0})
    made = json.loads(export("comfyui", export_inputs(schnell, CATALOG, "an anime fox")))
    assert "FluxGuidance" not in {n["class_type"] for n in made.values()}


def test_diffusers_snippet_of_a_pony_model_is_sdxl():
    api = _checkpoint_inputs().api.model_copy(update={"base_model": "Pony"})
    made = export_inputs(api, CATALOG, "a pony")
    assert "StableDiffusionXLPipeline.from_single_file(" in export("diffusers", made)
