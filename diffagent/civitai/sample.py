"""The bundled Civitai sample: a small, deterministic source in the raw API's shape.

It is what `make demo` builds DABench from and what the tests crawl, served by `local_server`.
Models are written the way `GET /models/{id}` answered in 2023 (images nested with `meta`), which
is also the format of the real captures in shared/data/civitai; the local server turns it into
today's shapes. The sample deliberately carries the drift a crawler meets: meta null, `Model` as
an object, `Size` "512x", numbers as strings, a missing sampler, junk and ComfyUI sampler names,
an unknown base model, an NSFW model and NSFW images, a pickle-only version, LoRA images whose
checkpoint hash resolves to nothing, and `<lora:...>` tags in prompts. Besides SD 1.5 and SDXL it
has today's base models (Pony, Illustrious, Flux.1 D; `MODERN_PLAN`), a LyCORIS LoCon and a model
whose downloads need a key; `sample_community` adds versions with more images than a crawl's
budget, by the creator and by others, and paid versions; `sample_families` a checkpoint and a LoRA
of each family of 2025-26 (Z-Image, Qwen-Image, Flux.2 D and Klein, SD 3.5). `served_versions()`
lists the files the bundled server serves, and `build_sample(facts=...)` gives every such file the
SHA256 of the bytes really served.
"""

from __future__ import annotations

import json
import random
from typing import Any

from diffagent.civitai.sample_community import add_community_models
from diffagent.civitai.sample_families import add_family_models
from diffagent.civitai.sample_plan import (
    FLUX_SAMPLERS,
    INDEX_ONLY_CHECKPOINTS,
    MODERN_PLAN,
    NEGATIVES,
    SAMPLERS,
    SIZES,
    SUBJECTS,
    THEMES,
    FileFacts,
    sample_file,
)


def build_sample(
    seed: int = 7, facts: FileFacts | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(models, hash index rows) of the bundled sample; the same for the same seed. With `facts`
    (the files `sample_files` serves), every file's SHA256 and AutoV2 are those of its bytes."""
    rng = random.Random(seed)
    models: list[dict[str, Any]] = []
    checkpoint_hashes: dict[str, list[str]] = {base: [] for base in SIZES}
    for _, version_id, _, base in INDEX_ONLY_CHECKPOINTS:
        checkpoint_hashes[base].append(sample_file(version_id, "base", facts=facts)["hashes"]["AutoV2"])

    model_id, image_id = 100, 5000
    plan: list[tuple[str, str, tuple[str, str, list[str]]]] = []
    for index, theme in enumerate(THEMES):
        plan.append(("Checkpoint", "SD 1.5" if index % 2 == 0 else "SDXL 1.0", theme))
    for index, theme in enumerate(THEMES):
        plan.append(("LORA", "SD 1.5" if index % 3 else "SDXL 1.0", theme))
    plan.extend(MODERN_PLAN)

    for kind, base, (stem, style, tags) in plan:
        model_id += 1
        versions = []
        for version_number in range(1 if kind == "LORA" else 2):
            version_id = model_id * 100 + version_number
            file = sample_file(version_id, stem, facts=facts)
            if kind == "Checkpoint":
                checkpoint_hashes[base].append(file["hashes"]["AutoV2"])
            images = []
            for _ in range(12):
                image_id += 1
                subject = SUBJECTS[(image_id * 7) % len(SUBJECTS)]
                prompt = f"{subject}, {style}, masterpiece, best quality"
                if kind == "LORA":
                    prompt = f"<lora:{stem.replace(' ', '_')}:0.8>, {prompt}, <lyco:detail:0.3>"
                meta: dict[str, Any] = {
                    "prompt": prompt,
                    "negativePrompt": NEGATIVES[image_id % len(NEGATIVES)],
                    "sampler": SAMPLERS[image_id % len(SAMPLERS)],
                    "steps": 20 + (image_id % 4) * 5,
                    "cfgScale": [5, 6, 7, 7.5, 8][image_id % 5],
                    "seed": rng.randrange(2**32),
                    "Size": SIZES[base][image_id % 3],
                    "Clip skip": "2",
                }
                if base == "Flux.1 D":  # guidance-distilled: low "CFG", no clip skip, flow samplers
                    sampler, scheduler = FLUX_SAMPLERS[image_id % len(FLUX_SAMPLERS)]
                    meta.update({"sampler": sampler, "cfgScale": 3.5})
                    del meta["Clip skip"]
                    if scheduler:
                        meta["scheduler"] = scheduler
                elif base == "Illustrious":
                    del meta["Clip skip"]
                if kind == "Checkpoint":
                    meta["Model hash"] = file["hashes"]["AutoV2"]
                    meta["Model"] = f"{stem} {version_number}"
                else:
                    pool = checkpoint_hashes[base] or checkpoint_hashes["SDXL 1.0"]
                    meta["Model hash"] = pool[(image_id * 3) % len(pool)].lower()
                nsfw = "None"
                # The drift, spread deterministically over the sample:
                quirk = image_id % 23
                if quirk == 1:
                    meta = None  # type: ignore[assignment]
                elif quirk == 2:
                    meta["Model"] = {"name": f"{stem}", "hash": "abc"}
                elif quirk == 3:
                    meta["Size"] = "512x"
                elif quirk == 4:
                    meta["steps"], meta["cfgScale"] = str(meta["steps"]), str(meta["cfgScale"])
                elif quirk == 5:
                    del meta["sampler"]
                elif quirk == 6:
                    nsfw = "Mature"
                elif quirk == 7:
                    meta["sampler"] = "DPM++ 2M Karras Test"
                elif quirk == 8:
                    meta["sampler"], meta["scheduler"] = "dpmpp_2m", "karras"
                elif quirk == 9 and kind == "LORA":
                    meta["Model hash"] = "deadbeef00"
                elif quirk == 10:
                    meta["prompt"] = "<lora:only_a_tag:1>"
                elif quirk == 11:
                    meta = {"id": image_id, "meta": meta}  # wrapped, as some look-ups answer
                width, height = (int(v) for v in SIZES[base][image_id % 3].split("x"))
                images.append(
                    {
                        "id": image_id,
                        "url": f"https://image.civitai.com/sample/{image_id}.jpeg",
                        "nsfw": nsfw,
                        "width": width * 2,  # hires upscaled: the image size is not the generation size
                        "height": height * 2,
                        "hash": "U00000000000000000000000000000",
                        # Posted by the model's creator, or (every fourth) by someone else.
                        "username": f"creator{model_id % 5}" if image_id % 4 else f"fan{image_id % 7}",
                        "meta": meta,
                    }
                )
            versions.append(
                {
                    "id": version_id,
                    "modelId": model_id,
                    "name": f"v{version_number + 1}.0",
                    "createdAt": f"2023-0{1 + version_number}-{10 + model_id % 18:02d}T10:00:00.000Z",
                    "baseModel": base,
                    "trainedWords": [stem.lower().replace(" ", "_")] if kind == "LORA" else [],
                    "description": f"<p>Version {version_number + 1} of {stem}.</p>",
                    "stats": {"downloadCount": 500 + model_id * 13, "ratingCount": 12, "rating": 4.7},
                    "files": [file],
                    "images": images,
                    "downloadUrl": f"https://civitai.com/api/download/models/{version_id}",
                }
            )
        models.append(
            {
                "id": model_id,
                "name": f"{stem} {'XL' if base == 'SDXL 1.0' else ''}".strip()
                + (" LoRA" if kind == "LORA" else ""),
                "description": f"<p><b>{stem}</b> makes {style} images.</p><ul><li>Use CFG 7</li></ul>"
                if model_id % 4
                else "",
                "type": kind,
                "poi": False,
                "nsfw": False,
                "stats": {
                    "downloadCount": 1000 + model_id * 37,
                    "favoriteCount": 50,
                    "commentCount": 3,
                    "ratingCount": 20 + model_id % 9,
                    "rating": 4.5 + (model_id % 5) / 10,
                },
                "creator": {"username": f"creator{model_id % 5}"},
                "tags": tags,
                "modelVersions": versions,
            }
        )

    # Records that must end as rejects, never as pairs, never as a crash.
    _add_awkward_models(models, facts)
    add_community_models(models, facts, seed)  # budgets, other people's images, paid versions
    add_family_models(models, facts, seed)  # Z-Image, Qwen-Image, Flux.2, SD 3.5
    index_rows = _hash_index(models, facts)
    return models, index_rows


def _add_awkward_models(models: list[dict[str, Any]], facts: FileFacts | None) -> None:
    template = models[0]

    def clone(model_id: int, **changes: Any) -> dict[str, Any]:
        model = {**template, "id": model_id, "name": f"Awkward {model_id}", "tags": ["misc"]}
        versions = []
        for number, version in enumerate(template["modelVersions"][:1]):
            version_id = model_id * 100 + number
            images = [
                {**image, "id": image["id"] + model_id * 1000, "meta": image["meta"]}
                for image in version["images"][:3]
            ]
            versions.append(
                {
                    **version,
                    "id": version_id,
                    "modelId": model_id,
                    "files": [sample_file(version_id, "awk", facts=facts)],
                    "images": images,
                }
            )
        model["modelVersions"] = versions
        for key, value in changes.items():
            if key == "version":
                for version in model["modelVersions"]:
                    version.update(value)
            else:
                model[key] = value
        return model

    models.append(clone(901, nsfw=True, name="Spicy Model"))
    pickle_only = {"files": [sample_file(90200, "pickle", pickle=True)]}
    models.append(clone(902, name="Pickle Only", version=pickle_only))
    # A model with one SD 1.5 version and one of a base model we do not take.
    mixed = clone(903, name="Mixed Bases")
    extra = {
        **mixed["modelVersions"][0],
        "id": 90399,
        "baseModel": "SD 2.1 768",
        "files": [sample_file(90399, "sd21", facts=facts)],
    }
    mixed["modelVersions"] = [*mixed["modelVersions"], extra]
    models.append(mixed)
    models.append(clone(904, name="Tiny Audience", stats={"downloadCount": 3, "ratingCount": 0, "rating": 0}))
    models.append(clone(905, name="Some Embedding", type="TextualInversion"))
    # Numbers as strings at the model level too.
    models.append(
        clone(
            906, name="Stringly Typed", stats={"downloadCount": "4200", "ratingCount": "30", "rating": "4.8"}
        )
    )


def _hash_index(models: list[dict[str, Any]], facts: FileFacts | None) -> list[dict[str, Any]]:
    """Hash -> checkpoint version rows, in the format of shared/data/civitai's index."""
    rows: list[dict[str, Any]] = []

    def add(
        model_id: int, model_name: str, version_id: int, version_name: str, base: str, file: dict, nsfw: bool
    ) -> None:
        for hash_type in ("AutoV1", "AutoV2", "SHA256", "CRC32", "BLAKE3"):
            rows.append(
                {
                    "hash_type": hash_type,
                    "hash": file["hashes"][hash_type],
                    "model_id": model_id,
                    "model_name": model_name,
                    "model_type": "Checkpoint",
                    "version_id": version_id,
                    "version_name": version_name,
                    "base_model": base,
                    "file_name": file["name"],
                    "nsfw": nsfw,
                    "file_id": file["id"],
                    "file_type": "Model",
                }
            )

    for model_id, version_id, name, base in INDEX_ONLY_CHECKPOINTS:
        add(model_id, name, version_id, "v1.0", base, sample_file(version_id, "base", facts=facts), False)
    for model in models:
        if model["type"] != "Checkpoint":
            continue
        for version in model["modelVersions"]:
            for file in version["files"]:
                add(
                    model["id"],
                    model["name"],
                    version["id"],
                    version["name"],
                    version["baseModel"],
                    file,
                    bool(model["nsfw"]),
                )
    return rows


def renumbered(models: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
    """Copies of `models` under fresh ids (model + offset, version and image + 1000 * offset),
    newer than the originals: "models published later" for recrawl tests and benchmarks."""
    clones = json.loads(json.dumps(models))
    for model in clones:
        model["id"] += offset
        model["name"] = f"{model['name']} {offset}"
        for version in model["modelVersions"]:
            version["id"] += 1000 * offset
            version["createdAt"] = "2024-06-01T00:00:00.000Z"
            for image in version["images"]:
                image["id"] += 1000 * offset
    return clones
