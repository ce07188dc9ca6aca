"""Catalog rows: unique `model` names and the fields the agent and the renderer read."""

from __future__ import annotations

from collections import Counter
from typing import Any

from diffagent.dabench.derive import CatalogSeed
from diffagent.dabench.describe import MAX_SOURCE_CHARS, DescriptionInputs
from diffagent.dabench.prompts import strip_html
from schemas.civitai import ModelVersion
from schemas.t2i import architecture_of


def display_name(seed: CatalogSeed) -> str:
    model_name = " ".join(seed.model.name.split()) or f"model {seed.model.id}"
    version_name = " ".join(seed.version.name.split())
    return f"{model_name} ({version_name})" if version_name else model_name


def unique_model_names(seeds: dict[int, CatalogSeed]) -> dict[int, str]:
    """version id -> the `model` string; a name shared by several versions gets `#<version id>`
    on all but the lowest version id, so names stay stable as the catalog grows."""
    names = {version_id: display_name(seed) for version_id, seed in seeds.items()}
    taken: Counter = Counter()
    out: dict[int, str] = {}
    for version_id in sorted(names):
        name = names[version_id]
        out[version_id] = name if taken[name] == 0 else f"{name} #{version_id}"
        taken[name] += 1
    return out


def description_inputs(seed: CatalogSeed) -> DescriptionInputs:
    source = strip_html(seed.model.description)
    version_text = strip_html(seed.version.description)
    if version_text and version_text not in source:
        source = f"{source}\n{version_text}".strip()
    return DescriptionInputs(
        model_name=seed.model.name,
        version_name=seed.version.name,
        type=seed.model.type or "",
        base_model=seed.version.base_model or "",
        source_text=source[:MAX_SOURCE_CHARS],
        tags=tuple(seed.model.tags),
        trained_words=tuple(seed.version.trained_words),
        sample_prompts=tuple(seed.sample_prompts[:5]),
    )


def preview_url(version: ModelVersion) -> str | None:
    """The version's first SFW image with a URL: the picture a page shows for the model."""
    for image in version.images:
        if image.url and image.is_sfw:
            return image.url
    return None


def catalog_row(seed: CatalogSeed, name: str, description: str, source: str) -> dict[str, Any]:
    file = seed.version.primary_safetensors()
    assert file is not None, f"catalog seed {seed.version.id} has no safetensors file"
    stats = seed.model.stats
    return {
        "model": name,
        "model_id": seed.model.id,
        "version_id": seed.version.id,
        "type": seed.model.type,
        "base_model": seed.version.base_model,
        "model_description": description,
        "description_source": source,
        "trained_words": list(seed.version.trained_words),
        "tags": list(seed.model.tags),
        "model_name": seed.model.name,
        "version_name": seed.version.name,
        "download_count": stats.download_count,
        "thumbs_up_count": stats.thumbs_up_count,
        "rating": stats.rating,
        "rating_count": stats.rating_count,
        "file_name": file.name,
        "sha256": file.sha256 or "",
        "autov3": file.autov3 or "",
        "download_url": file.download_url or seed.version.download_url or "",
        "sample_count": seed.sample_count,
        "published_at": seed.version.published_at or seed.version.created_at,
        "architecture": architecture_of(seed.version.base_model or ""),
        "preview_url": seed.preview_url,
    }
