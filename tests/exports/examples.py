"""Shared by the export tests: a small catalog, answers for it, and the stock ComfyUI nodes'
output types that a workflow's links must match."""

from __future__ import annotations

from diffagent.catalog import Catalog
from diffagent.exports import export_inputs
from schemas.t2i import T2IApi
from tests.catalog_entries import catalog_entry

SHA = "E6BB9EA85B" + "0" * 54


def entry(model: str, kind: str, base: str, version_id: int, file_name: str, sha: str = "") -> dict:
    return catalog_entry(
        model,
        model_id=version_id // 10,
        version_id=version_id,
        type=kind,
        base_model=base,
        model_description=f"{model}.",
        model_name=model,
        version_name="v1",
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
        entry("Juggernaut XL (v9)", "Checkpoint", "SDXL 1.0", 3480, "juggernautXL_v9.safetensors", SHA),
        entry("Pixel Art XL", "LORA", "SDXL 1.0", 1350, "pixel-art-xl.safetensors", "AA" * 32),
        entry("Realistic Vision", "Checkpoint", "SD 1.5", 1300, "realisticVision_v51.safetensors"),
        entry("Flux Realism", "Checkpoint", "Flux.1 D", 6910, "fluxRealism_v1.safetensors"),
        entry("Anime Flux", "LORA", "Flux.1 D", 7020, "animeFlux.safetensors"),
        entry("Ink Lines", "LORA", "SD 1.5", 4410, "inkLines_v2.safetensors", "0123456789ABCDEF" * 4),
        entry(
            "Pony Realism", "Checkpoint", "Pony", 5520, "ponyRealism_v22.safetensors", "FEDCBA9876" + "1" * 54
        ),
    ],
    fingerprint="test",
)


def catalog_api(model: str, base_checkpoint: str | None = None, **parameters) -> T2IApi:
    """An answer for the CATALOG entry `model` (on `base_checkpoint`), its catalog facts copied from there."""
    entry = CATALOG[model]
    if base_checkpoint:
        parameters |= {
            "base_checkpoint": base_checkpoint,
            "base_checkpoint_version_id": CATALOG[base_checkpoint].version_id,
        }
    return T2IApi(
        model=model,
        type=entry.type,
        base_model=entry.base_model,
        model_id=entry.model_id,
        version_id=entry.version_id,
        **parameters,
    )


def lora_inputs():
    api = catalog_api(
        "Pixel Art XL",
        "Juggernaut XL (v9)",
        width=1024,
        height=768,
        sampling_method="DPM++ 2M Karras",
        sampling_steps=30,
        cfg_scale=7.0,
    )
    return export_inputs(api, CATALOG, "a knight, pixel art", "blurry, lowres", seed=42, lora_weight=0.8)


def checkpoint_inputs():
    api = catalog_api(
        "Realistic Vision", width=512, height=768, sampling_method="Euler a", sampling_steps=25, cfg_scale=5.5
    )
    return export_inputs(api, CATALOG, "portrait photo, 85mm", seed=7)


def flux_lora_inputs():
    api = catalog_api(
        "Anime Flux",
        "Flux Realism",
        width=1024,
        height=1024,
        sampling_method="Euler",
        sampling_steps=20,
        cfg_scale=3.5,
    )
    return export_inputs(api, CATALOG, "an anime fox", "ignored by flux", seed=3)


def sd15_lora_inputs(**options):
    """An SD 1.5 LoRA answer with clip skip 2, as anime SD 1.5 answers often are."""
    api = catalog_api(
        "Ink Lines",
        "Realistic Vision",
        width=512,
        height=512,
        sampling_method="Euler a",
        sampling_steps=20,
        cfg_scale=7.0,
        clip_skip=2,
    )
    return export_inputs(api, CATALOG, "a fox in the snow", "photo", seed=11, **options)


def pony_inputs():
    api = catalog_api(
        "Pony Realism",
        width=832,
        height=1216,
        sampling_method="DPM++ SDE Karras",
        sampling_steps=25,
        cfg_scale=6.0,
        clip_skip=2,
    )
    return export_inputs(api, CATALOG, "score_9, a knight", "score_4", seed=5)


def flux_checkpoint_inputs():
    api = catalog_api(
        "Flux Realism", width=1024, height=1024, sampling_method="Euler", sampling_steps=20, cfg_scale=3.5
    )
    return export_inputs(api, CATALOG, "a red fox", seed=1)


# Outputs of the stock nodes (ComfyUI nodes.py RETURN_TYPES): what a link may point at.
NODE_OUTPUTS = {
    "CheckpointLoaderSimple": ("MODEL", "CLIP", "VAE"),
    "CLIPSetLastLayer": ("CLIP",),
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
