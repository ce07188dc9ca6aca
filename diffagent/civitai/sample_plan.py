"""What the bundled Civitai sample is made of: themes, prompts, parameters, base models and the
file record of each version (`sample_file`). `sample.build_sample` assembles them."""

from __future__ import annotations

import hashlib
from typing import Any

from diffagent.store.autov3 import A1111_SHORT_HASH_CHARS

THEMES: list[tuple[str, str, list[str]]] = [
    # (model name stem, style words, tags)
    ("PixelForge", "pixel art, 16-bit, retro game sprite", ["pixel art", "retro", "game"]),
    ("AnimeDream", "anime style, cel shading, vibrant colors", ["anime", "illustration"]),
    ("PhotoReal", "RAW photo, 8k uhd, film grain, Fujifilm XT3", ["photorealistic", "portrait"]),
    ("Watercolor Muse", "watercolor painting, soft washes, paper texture", ["watercolor", "art"]),
    ("NeonCity", "cyberpunk, neon lights, rainy night, cinematic", ["cyberpunk", "sci-fi"]),
    ("InkSketch", "ink sketch, line art, cross hatching", ["sketch", "lineart"]),
    ("Claymation", "claymation, plasticine, stop motion", ["3d", "clay"]),
    ("Fantasy Realms", "epic fantasy, matte painting, volumetric light", ["fantasy", "landscape"]),
    ("Chibi Cute", "chibi, kawaii, pastel colors", ["cute", "chibi"]),
    ("Oil Master", "oil painting, impasto, baroque lighting", ["oil painting", "classical"]),
    ("Isometric Rooms", "isometric, low poly, diorama", ["isometric", "3d"]),
    ("Ukiyo Wave", "ukiyo-e, woodblock print, flat colors", ["ukiyo-e", "japanese"]),
]

SUBJECTS = [
    "a cute happy corgi",
    "an old lighthouse on a cliff",
    "a girl with a red umbrella",
    "a samurai under cherry blossoms",
    "a cozy cabin in the snow",
    "a robot reading a book",
    "a bowl of ramen",
    "a dragon over the mountains",
    "a portrait of an astronaut",
    "a cat wearing a wizard hat",
    "a busy market street",
    "a sailing ship in a storm",
    "a fox in an autumn forest",
    "a futuristic motorcycle",
]

NEGATIVES = [
    "lowres, bad anatomy, bad hands, worst quality",
    "(deformed, distorted:1.3), blurry, watermark",
    "",
    "easynegative, jpeg artifacts",
]

SAMPLERS = ["DPM++ 2M Karras", "Euler a", "DPM++ SDE Karras", "DDIM", "Euler", "UniPC", "DPM++ 2M SDE Karras"]
# What Flux images carry: Forge's A1111 names, and ComfyUI's sampler + scheduler split.
FLUX_SAMPLERS = [("Euler", None), ("euler", "simple"), ("DPM++ 2M", None), ("euler", "beta")]
_XL_SIZES = ["1024x1024", "832x1216", "1216x832"]
SIZES = {
    "SD 1.5": ["512x512", "512x768", "768x512"],
    "SDXL 1.0": _XL_SIZES,
    "Pony": _XL_SIZES,
    "Illustrious": _XL_SIZES,
    "Flux.1 D": _XL_SIZES,
}
# Today's base models, after the 2023-style SD 1.5 / SDXL plan: (kind, base model, theme).
MODERN_PLAN: list[tuple[str, str, tuple[str, str, list[str]]]] = [
    ("Checkpoint", "Pony", ("PonyToon", "score_9, score_8_up, cartoon style", ["pony", "cartoon"])),
    ("Checkpoint", "Illustrious", ("Illustrious Ink", "illustration, ink wash", ["anime", "illustrious"])),
    ("Checkpoint", "Flux.1 D", ("FluxReal", "photo, natural light, sharp focus", ["flux", "photorealistic"])),
    ("LORA", "Pony", ("Pony Pastel", "pastel palette, soft shading", ["pony", "style"])),
    ("LORA", "Illustrious", ("Glow Lines", "glowing outlines, neon rim light", ["illustrious", "style"])),
    ("LORA", "Flux.1 D", ("Flux Film", "35mm film still, grain, halation", ["flux", "film"])),
    ("LORA", "SD 1.5", ("Texture LoCon", "rough canvas texture, visible brushwork", ["texture", "locon"])),
]
# Files served as a LyCORIS LoCon rather than a plain LoRA (Civitai lists both as LORA).
LOCON_MODEL_NAMES = ("Texture LoCon",)
# Models whose downloads need an API key (Civitai answers 401 without one).
KEY_REQUIRED_MODEL_NAMES = ("FluxReal",)


def _hashes(seed: str) -> dict[str, str]:
    sha = hashlib.sha256(seed.encode()).hexdigest().upper()
    return {
        "AutoV1": hashlib.md5(seed.encode()).hexdigest().upper()[:8],
        "AutoV2": sha[:10],
        "SHA256": sha,
        "CRC32": hashlib.sha1(seed.encode()).hexdigest().upper()[:8],
        "BLAKE3": hashlib.blake2b(seed.encode()).hexdigest().upper()[:64],
        "AutoV3": hashlib.sha3_256(seed.encode()).hexdigest().upper()[:12],
    }


# version id -> (SHA256, size in bytes, AutoV3) of the file really served for it (`sample_files`).
FileFacts = dict[int, tuple[str, int, str]]


def sample_file(
    version_id: int, stem: str, *, pickle: bool = False, facts: FileFacts | None = None
) -> dict[str, Any]:
    extension = "ckpt" if pickle else "safetensors"
    hashes = _hashes(f"file-{version_id}-{extension}")
    size_kb = 2_000_000.0 if not pickle else 4_000_000.0
    if facts and version_id in facts and not pickle:
        sha256, size, autov3 = facts[version_id]
        # Civitai's AutoV2 is the SHA256's first 10 hex digits; its AutoV3 (the tensor data's
        # SHA256, `store.autov3`) is listed with 12, what A1111 writes in `Lora hashes`.
        hashes = {**hashes, "SHA256": sha256.upper(), "AutoV2": sha256.upper()[:10]}
        hashes["AutoV3"] = autov3.upper()[:A1111_SHORT_HASH_CHARS]
        size_kb = size / 1024
    return {
        "name": f"{stem.replace(' ', '')}_v{version_id}.{extension}",
        "id": version_id * 10,
        "sizeKB": size_kb,
        "type": "Model",
        "metadata": {"fp": "fp16", "size": "pruned", "format": "PickleTensor" if pickle else "SafeTensor"},
        "pickleScanResult": "Success",
        "virusScanResult": "Success",
        "hashes": hashes,
        "downloadUrl": f"https://civitai.com/api/download/models/{version_id}",
        "primary": True,
    }


# Base checkpoints that LoRA images use but that the crawl itself does not return; they live
# only in the hash index (like SD 1.5's own release on Civitai).
INDEX_ONLY_CHECKPOINTS = [
    (9001, 90010, "Stable Diffusion v1.5", "SD 1.5"),
    (9002, 90020, "SDXL Base 1.0", "SDXL 1.0"),
    (9003, 90030, "FLUX.1 [dev]", "Flux.1 D"),
]
