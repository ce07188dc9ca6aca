"""Sample models in today's shape: versions with more images than a crawl's budget, posted by the
creator and by other people, LoRA images naming their checkpoint by full SHA256, and paid versions.

- "Crowd Favorite" (SD 1.5 checkpoint): one version with `CROWD_IMAGES` images, each with its
  poster's `username` and reaction `stats` (so "Most Reactions" has an order to give), a few
  without a prompt; more than a budget of 20.
- "Crowd Sketch LoRA" (SD 1.5): `CROWD_IMAGES` images whose `Model hash` is a sample checkpoint's
  full SHA256 (what the bulk by-hash endpoint resolves), again from the creator and others.
- "Early Bird" (SD 1.5 checkpoint): a version in early access (`paidAccess` with `endsAt`) and a
  permanently paid one; the filter rejects both, the server refuses their downloads (403).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from diffagent.civitai.sample_plan import NEGATIVES, SAMPLERS, SUBJECTS, FileFacts, sample_file

CROWD_IMAGES = 45
COMMUNITY_USERS = ("pixel_pilgrim", "night_owl_42", "brushless", "Quiet_Fox", "renderdaze")
EARLY_ACCESS_ENDS = "2026-09-30T00:00:00.000Z"
CROWD_CHECKPOINT, CROWD_LORA, EARLY_BIRD = 950, 951, 952  # model ids (version ids: id * 100 + n)
_FIRST_IMAGE = 950_000


def add_community_models(models: list[dict[str, Any]], facts: FileFacts | None, seed: int = 7) -> None:
    """Append the three models above to the sample's `models` (its SD 1.5 checkpoints exist)."""
    rng = random.Random(seed + 1)
    sd15_sha256 = [
        version["files"][0]["hashes"]["SHA256"]
        for model in models
        if model["type"] == "Checkpoint" and model["id"] < 900  # the themed ones, none awkward
        for version in model["modelVersions"]
        if version["baseModel"] == "SD 1.5"
    ]
    checkpoint = _model(CROWD_CHECKPOINT, "Crowd Favorite", "Checkpoint", "crowd_maker", facts)
    checkpoint["modelVersions"][0]["images"] = _images(rng, 0, "crowd_maker", "soft film light", None)
    lora = _model(CROWD_LORA, "Crowd Sketch LoRA", "LORA", "sketchy_sam", facts)
    lora["modelVersions"][0]["images"] = _images(
        rng, CROWD_IMAGES, "sketchy_sam", "pencil sketch", sd15_sha256
    )
    lora["modelVersions"][0]["trainedWords"] = ["crowd_sketch"]
    early = _model(EARLY_BIRD, "Early Bird", "Checkpoint", "early_ed", facts, versions=2)
    paid = ({"permanent": False, "endsAt": EARLY_ACCESS_ENDS}, {"permanent": True, "endsAt": None})
    for version, gate in zip(early["modelVersions"], paid, strict=True):
        version["paidAccess"] = gate
        version["images"] = _images(
            rng, 2 * CROWD_IMAGES + version["id"] % 100 * 3, "early_ed", "dawn", None
        )[:3]
    models.extend([checkpoint, lora, early])


def _model(
    model_id: int, name: str, kind: str, creator: str, facts: FileFacts | None, versions: int = 1
) -> dict[str, Any]:
    stem = name.replace(" ", "")
    return {
        "id": model_id,
        "name": name,
        "description": f"<p>{name}: what people make with it.</p>",
        "type": kind,
        "poi": False,
        "nsfw": False,
        "stats": {
            "downloadCount": 25_000,
            "favoriteCount": 900,
            "commentCount": 40,
            "ratingCount": 80,
            "rating": 4.9,
        },
        "creator": {"username": creator},
        "tags": ["community", "sketch" if kind == "LORA" else "photo"],
        "modelVersions": [
            {
                "id": model_id * 100 + number,
                "modelId": model_id,
                "name": f"v{number + 1}.0",
                "createdAt": f"2026-0{3 + number}-01T10:00:00.000Z",
                "baseModel": "SD 1.5",
                "trainedWords": [],
                "description": f"<p>Version {number + 1} of {name}.</p>",
                "stats": {"downloadCount": 9000, "ratingCount": 30, "rating": 4.8},
                "files": [sample_file(model_id * 100 + number, stem, facts=facts)],
                "images": [],
                "downloadUrl": f"https://civitai.com/api/download/models/{model_id * 100 + number}",
                "paidAccess": None,
            }
            for number in range(versions)
        ],
    }


def _images(
    rng: random.Random, offset: int, creator: str, style: str, model_hashes: list[str] | None
) -> list[dict[str, Any]]:
    """`CROWD_IMAGES` images: every third by the creator, the rest by others; every ninth has no
    prompt (meta null). Reactions fall with the index, shuffled so the API order is not theirs."""
    images = []
    for index in range(CROWD_IMAGES):
        image_id = _FIRST_IMAGE + offset + index
        subject = SUBJECTS[index % len(SUBJECTS)]
        meta: dict[str, Any] | None = {
            "prompt": f"{subject}, {style}" + (", <lora:crowd_sketch:0.7>" if model_hashes else ""),
            "negativePrompt": NEGATIVES[index % len(NEGATIVES)],
            "sampler": SAMPLERS[index % len(SAMPLERS)],
            "steps": 20 + index % 3 * 5,
            "cfgScale": 7,
            "seed": rng.randrange(2**32),
            "Size": "512x768",
            "Model hash": model_hashes[index % len(model_hashes)].lower() if model_hashes else "",
        }
        if index % 9 == 4:
            meta = None
        images.append(
            {
                "id": image_id,
                "url": f"https://image.civitai.com/sample/{image_id}.jpeg",
                "nsfw": "None",
                "width": 1024,
                "height": 1536,
                "hash": "U00000000000000000000000000000",
                "username": creator if index % 3 == 0 else COMMUNITY_USERS[index % len(COMMUNITY_USERS)],
                "stats": {
                    "likeCount": 3 * (CROWD_IMAGES - index),
                    "heartCount": index % 4,
                    "commentCount": 2,
                },
                "meta": copy.deepcopy(meta),
            }
        )
    rng.shuffle(images)
    return images
