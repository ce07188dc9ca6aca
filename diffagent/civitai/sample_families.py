"""Sample models of the families of 2025-26 (issue 25): a checkpoint and a LoRA of Z-Image Turbo,
Qwen-Image, Flux.2 [dev], Flux.2 [klein] 4B, SD 3.5 Large, Chroma and Pony V7 (AuraFlow), plus an
SD 3.5 Medium checkpoint (a Large LoRA must not be answered with it: another network in the same
Civitai ecosystem).

Their images carry what real Civitai images of each family carry, mostly from ComfyUI workflows:
natural-language prompts (Qwen's with the text it renders, Flux.2's with camera words), ComfyUI's
`sampler` + `scheduler` split or Forge's names, the family's steps and CFG (Z-Image Turbo 8-9 steps
at CFG 1, Klein 4 steps at CFG 1, Qwen-Image 20-50 steps at CFG 2.5-4, Flux.2 [dev] 20-28 at
guidance 4, SD 3.5 Large 28 at CFG 3.5-4.5 with sgm_uniform) and its sizes (Qwen-Image's 1328x1328,
1664x928). No drift here: the 2023-style models carry it. LoRA images name their base by the
checkpoint's AutoV2 `Model hash`, as Forge writes it, so the crawl resolves them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from diffagent.civitai.sample_plan import SUBJECTS, FileFacts, sample_file

FIRST_MODEL_ID = 140  # after the themed and modern models (101-131); versions id * 100 + n
_FIRST_IMAGE = 970_000
IMAGES_PER_VERSION = 8


@dataclass(frozen=True)
class FamilyStyle:
    """How one base model's images on Civitai look."""

    base_model: str
    phrases: tuple[str, ...]  # the family's prompt style, after the subject
    samplers: tuple[tuple[str, str | None], ...]  # (sampler, scheduler or None for Forge's names)
    steps: tuple[int, ...]
    cfg: tuple[float, ...]
    sizes: tuple[str, ...]
    negatives: tuple[str, ...] = ("",)


STYLES = {
    style.base_model: style
    for style in (
        FamilyStyle(
            "ZImageTurbo",
            (
                "a candid photograph, natural window light, shallow depth of field, shot on a 50mm lens",
                "cinematic still, warm golden hour light, realistic skin texture, film grain",
            ),
            (("euler", "simple"), ("Euler", None), ("euler", "beta")),
            (8, 9, 9),
            (1.0,),
            ("1024x1024", "832x1216", "1216x832"),
        ),
        FamilyStyle(
            "Qwen",
            (
                'a shop sign above the door reads "OPEN LATE" in neon letters, detailed illustration',
                'a vintage poster with the title "SUMMER FESTIVAL" in bold serif type, clean layout',
            ),
            (("euler", "simple"), ("uni_pc", "simple")),
            (20, 30, 50),
            (2.5, 4.0),
            ("1328x1328", "1664x928", "928x1664"),
            (" ", "blurry, low quality, distorted text"),
        ),
        FamilyStyle(
            "Flux.2 D",
            (
                "editorial photograph, soft diffused light, 35mm, muted color palette, high detail",
                "product shot on a seamless backdrop, studio strobe lighting, crisp reflections",
            ),
            (("euler", "simple"), ("Euler", None)),
            (20, 28),
            (4.0,),
            ("1024x1024", "896x1152", "1152x896"),
        ),
        FamilyStyle(
            "Flux.2 Klein 4B",
            (
                "bright flat illustration, bold outlines, playful composition",
                "photo, overcast daylight, documentary style, natural colors",
            ),
            (("euler", "simple"),),
            (4,),
            (1.0,),
            ("1024x1024", "768x1024", "1024x768"),
        ),
        FamilyStyle(
            "SD 3.5 Large",
            (
                "highly detailed digital painting, dramatic lighting, concept art, trending on artstation",
                "a photo, 85mm, bokeh, sharp focus, award winning photography",
            ),
            (("dpmpp_2m", "sgm_uniform"), ("euler", "sgm_uniform"), ("Euler", None)),
            (28, 30, 40),
            (3.5, 4.0, 4.5),
            ("1024x1024", "896x1152", "1152x896"),
            ("blurry, lowres, watermark, text", ""),
        ),
        FamilyStyle(
            "Chroma",
            (
                "detailed fantasy illustration, painterly, soft rim light, intricate background",
                "amateur photo, flash, candid snapshot, slightly grainy",
            ),
            (("euler", "beta"), ("euler", "simple")),
            (26, 30, 40),
            (3.0, 4.0, 4.5),
            ("1024x1024", "896x1152"),
            ("low quality, ugly, unfinished, out of focus, deformed", ""),
        ),
        FamilyStyle(
            "Pony V7",
            (
                "score_9, an anime illustration, clean lineart, vibrant colors",
                "score_8_up, a cartoon character sheet, flat shading, white background",
            ),
            (("euler", "simple"), ("euler_ancestral", "simple")),
            (30, 40),
            (3.5, 4.0),
            ("1024x1024", "832x1216"),
            ("score_4, blurry, lowres", ""),
        ),
        FamilyStyle(
            "SD 3.5 Medium",
            ("a photo, soft light, detailed textures", "oil painting, thick brush strokes, rich colors"),
            (("euler", "sgm_uniform"), ("dpmpp_2m", "sgm_uniform")),
            (40,),
            (4.5, 5.0),
            ("1024x1024", "832x1216"),
            ("blurry, lowres", ""),
        ),
    )
}
# (kind, base model, model name, trigger word for LoRAs, tags), in model id order from FIRST_MODEL_ID.
FAMILY_PLAN: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("Checkpoint", "ZImageTurbo", "Z-Real Turbo", "", ("z-image", "photorealistic")),
    ("LORA", "ZImageTurbo", "Z Film Look", "zfilm", ("z-image", "film")),
    ("Checkpoint", "Qwen", "Qwen Poster Mix", "", ("qwen", "typography")),
    ("LORA", "Qwen", "Qwen Neon Signs", "neonsign", ("qwen", "neon")),
    ("Checkpoint", "Flux.2 D", "Flux2 Studio", "", ("flux2", "photography")),
    ("LORA", "Flux.2 D", "Flux2 Muted Tones", "mutedtone", ("flux2", "style")),
    ("Checkpoint", "Flux.2 Klein 4B", "Klein Bright", "", ("flux2 klein", "illustration")),
    ("LORA", "Flux.2 Klein 4B", "Klein Outline", "bold outline", ("flux2 klein", "style")),
    ("Checkpoint", "SD 3.5 Large", "SD35 Concept", "", ("sd3.5", "concept art")),
    ("LORA", "SD 3.5 Large", "SD35 Bokeh", "bokeh85", ("sd3.5", "photography")),
    ("Checkpoint", "SD 3.5 Medium", "SD35M Painter", "", ("sd3.5", "painting")),
    ("Checkpoint", "Chroma", "Chroma Canvas", "", ("chroma", "illustration")),
    ("LORA", "Chroma", "Chroma Snapshot", "flashsnap", ("chroma", "photography")),
    ("Checkpoint", "Pony V7", "Pony Seven Toon", "", ("pony v7", "anime")),
    ("LORA", "Pony V7", "Pony Seven Sheets", "charsheet", ("pony v7", "style")),
)


def add_family_models(models: list[dict[str, Any]], facts: FileFacts | None, seed: int = 7) -> None:
    """Append `FAMILY_PLAN`'s models to the sample's `models` (one version each)."""
    rng = random.Random(seed + 2)
    checkpoint_hashes: dict[str, str] = {}
    image_id = _FIRST_IMAGE
    for offset, (kind, base, name, trigger, tags) in enumerate(FAMILY_PLAN):
        model_id = FIRST_MODEL_ID + offset
        version_id = model_id * 100
        file = sample_file(version_id, name, facts=facts)
        if kind == "Checkpoint":
            checkpoint_hashes[base] = file["hashes"]["AutoV2"]
        creator = f"{tags[0].replace(' ', '_')}_maker"
        images = []
        for index in range(IMAGES_PER_VERSION):
            image_id += 1
            meta = _meta(STYLES[base], index, rng, trigger)
            meta["Model hash"] = checkpoint_hashes[base].lower()
            if kind == "Checkpoint":
                meta["Model"] = name
            width, height = (int(side) for side in meta["Size"].split("x"))
            images.append(
                {
                    "id": image_id,
                    "url": f"https://image.civitai.com/sample/{image_id}.jpeg",
                    "nsfw": "None",
                    "width": width,
                    "height": height,
                    "hash": "U00000000000000000000000000000",
                    "username": creator if index % 3 else f"fan{index}",
                    "meta": meta,
                }
            )
        models.append(_model(model_id, kind, base, name, trigger, tags, creator, file, images))


def _meta(style: FamilyStyle, index: int, rng: random.Random, trigger: str) -> dict[str, Any]:
    subject = SUBJECTS[(index * 5 + len(style.base_model)) % len(SUBJECTS)]
    prompt = f"{subject}, {style.phrases[index % len(style.phrases)]}"
    sampler, scheduler = style.samplers[index % len(style.samplers)]
    meta: dict[str, Any] = {
        "prompt": f"{trigger}, {prompt}" if trigger else prompt,
        "negativePrompt": style.negatives[index % len(style.negatives)],
        "sampler": sampler,
        "steps": style.steps[index % len(style.steps)],
        "cfgScale": style.cfg[index % len(style.cfg)],
        "seed": rng.randrange(2**32),
        "Size": style.sizes[index % len(style.sizes)],
    }
    if scheduler:
        meta["scheduler"] = scheduler
    return meta


def _model(
    model_id: int,
    kind: str,
    base: str,
    name: str,
    trigger: str,
    tags: tuple[str, ...],
    creator: str,
    file: dict[str, Any],
    images: list[dict[str, Any]],
) -> dict[str, Any]:
    version_id = model_id * 100
    return {
        "id": model_id,
        "name": name + (" LoRA" if kind == "LORA" else ""),
        "description": f"<p><b>{name}</b> for {base}.</p>",
        "type": kind,
        "poi": False,
        "nsfw": False,
        "stats": {
            "downloadCount": 4000 + model_id * 29,
            "favoriteCount": 120,
            "commentCount": 9,
            "ratingCount": 25,
            "rating": 4.8,
        },
        "creator": {"username": creator},
        "tags": list(tags),
        "modelVersions": [
            {
                "id": version_id,
                "modelId": model_id,
                "name": "v1.0",
                "createdAt": f"2026-0{1 + model_id % 6}-15T10:00:00.000Z",
                "baseModel": base,
                "trainedWords": [trigger] if trigger else [],
                "description": f"<p>{name} for {base}.</p>",
                "stats": {"downloadCount": 3000 + model_id * 11, "ratingCount": 20, "rating": 4.8},
                "files": [file],
                "images": images,
                "downloadUrl": f"https://civitai.com/api/download/models/{version_id}",
                "paidAccess": None,
            }
        ],
    }
