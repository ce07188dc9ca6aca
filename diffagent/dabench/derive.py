"""The filter's rules: what one raw model, version or image becomes (a pair or a reject).

Pure: no network. Every crawled image ends either as one pair or as one reject row naming the
stage and reason (and `detail`, the offending value); models and versions dropped as a whole get
their own reject rows with `image_id` null. Parameters are copied from the image's metadata, never
clamped: an out-of-range value is a reject, not a guess. The walk over the raw layer that applies
these rules (shard by shard) and the merge of the shards are `diffagent.dabench.shards`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from diffagent.answers.validity import invalid_parameters
from diffagent.civitai.refusals import paid_access_refusal
from diffagent.dabench.base_checkpoint import BaseCheckpointResolver, _Reject
from diffagent.dabench.lora_usage import image_lora_weight, used_trigger_words
from diffagent.dabench.prompts import parse_size, strip_network_tags
from diffagent.dabench.quality import QualityThresholds, quality_reject_reason
from diffagent.dabench.samplers import normalise_sampler
from schemas.base_models import out_of_scope
from schemas.civitai import Image, Model, ModelVersion
from schemas.t2i import BASE_MODELS, DEFAULT_CLIP_SKIP, MAX_CLIP_SKIP, MIN_CLIP_SKIP, MODEL_TYPES


@dataclass(frozen=True)
class FilterParams:
    types: tuple[str, ...] = MODEL_TYPES
    base_models: tuple[str, ...] = BASE_MODELS
    quality: QualityThresholds = field(default_factory=QualityThresholds)


@dataclass
class CatalogSeed:
    """A catalog row before its description is written."""

    model: Model
    version: ModelVersion
    sample_prompts: list[str] = field(default_factory=list)
    sample_count: int = 0
    preview_url: str | None = None  # kept from version.images, which seeds.jsonl leaves out


class Columns:
    """Rows kept column-wise: a million pairs as dicts would cost gigabytes, as lists far less."""

    def __init__(self, names: Iterable[str]) -> None:
        self.data: dict[str, list[Any]] = {name: [] for name in names}

    def append(self, row: dict[str, Any]) -> None:
        for name, column in self.data.items():
            column.append(row.get(name))

    def extend(self, other: Columns, keep: Sequence[bool]) -> None:
        """Append the rows of `other` whose `keep` is true, in order."""
        for name, column in self.data.items():
            column.extend(value for value, kept in zip(other.data[name], keep, strict=True) if kept)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()), []))

    def to_table(self, schema: pa.Schema) -> pa.Table:
        return pa.table({name: self.data[name] for name in schema.names}, schema=schema)

    def column(self, name: str) -> list[Any]:
        return self.data[name]


def model_reject(model: Model, params: FilterParams) -> tuple[str, str, str] | None:
    """(stage, reason, detail) when the whole model is dropped."""
    if model.type not in params.types:
        return "availability", "model_type", model.type or ""
    if model.nsfw:
        return "availability", "nsfw_model", "nsfw=true"
    if model.poi:
        return "availability", "poi_model", "poi=true"
    reason = quality_reject_reason(model.stats, params.quality)
    if reason:
        stats = model.stats
        detail = (
            f"downloads={stats.download_count} rating={stats.rating} ratings={stats.rating_count} "
            f"thumbs_up={stats.thumbs_up_count} thumbs_down={stats.thumbs_down_count}"
        )
        return "quality", reason, detail
    return None


def version_reject(version: ModelVersion, params: FilterParams) -> tuple[str, str, str] | None:
    if version.base_model not in params.base_models:
        # A base model no architecture renders is out of scope for a named reason (video, audio,
        # edit-only, ...: schemas.base_models); one the table renders but the build leaves out
        # (`--base-models`), or a name Civitai does not have, is `base_model`.
        scope = out_of_scope(version.base_model)
        if scope is not None and scope.kind != "unknown":
            return "availability", scope.reject_reason, f"{version.base_model}: {scope.why}"
        return "availability", "base_model", version.base_model or ""
    paid = paid_access_refusal(version.paid_access)
    if paid is not None:  # a user could not download it without paying: not selectable
        return "availability", paid.code, paid.reason
    if version.primary_safetensors() is None:
        names = ",".join(f.name for f in version.files) or "no files"
        return "availability", "no_safetensors", names
    return None


def image_source(model: Model, image: Image) -> str:
    """ "creator" for the model's own samples, "community" for other people's images, "unknown"
    when the image or the model names nobody (records from before usernames were kept)."""
    creator = model.creator.username if model.creator else None
    if not image.username or not creator:
        return "unknown"
    return "creator" if image.username.casefold() == creator.casefold() else "community"


def lora_fields(model: Model, version: ModelVersion, image_id: int, meta: Any) -> dict[str, Any]:
    """A LoRA image's weight for its LoRA and the trigger words it used (empty for a Checkpoint)."""
    if model.type != "LORA":
        return {"lora_weight": None, "trigger_words": []}
    raw = meta.prompt or ""
    stems = [f.name.rsplit(".", 1)[0] for f in version.files if f.name]
    weight = image_lora_weight(raw, version.id, stems, meta.resources, meta.civitai_resources)
    # Trigger words count only in the prompt's text, never inside a `<lora:...>` tag's name.
    words = used_trigger_words(strip_network_tags(raw), version.trained_words)
    return {"lora_weight": weight, "trigger_words": words}


def image_pair(
    model: Model, version: ModelVersion, image: Image, resolve_base: BaseCheckpointResolver
) -> tuple[dict[str, Any], tuple[Model, ModelVersion] | None]:
    """The pair made from one image (without catalog names yet); raises _Reject."""
    if not image.is_sfw:
        raise _Reject("availability", "nsfw_image", f"nsfw={image.nsfw} level={image.nsfw_level}")
    meta = image.meta
    if meta is None:
        raise _Reject("metadata", "missing_meta")
    prompt = strip_network_tags(meta.prompt or "")
    if not prompt:
        raise _Reject("metadata", "empty_prompt", meta.prompt or "")
    sampler = normalise_sampler(meta.sampler, meta.scheduler)
    if sampler is None:
        reason = "missing_sampler" if not meta.sampler else "unknown_sampler"
        raise _Reject("metadata", reason, f"{meta.sampler} {meta.scheduler or ''}".strip())
    steps, cfg = meta.steps, meta.cfg_scale
    size = parse_size(meta.size)
    width, height = size or (None, None)
    values = {"width": width, "height": height, "sampling_method": sampler}
    bad = invalid_parameters({**values, "sampling_steps": steps, "cfg_scale": cfg})  # schemas.t2i's rules
    if "sampling_steps" in bad:
        raise _Reject("metadata", "invalid_steps", steps)
    if "cfg_scale" in bad:
        raise _Reject("metadata", "invalid_cfg_scale", cfg)
    if size is None:
        raise _Reject("metadata", "invalid_size", meta.size)
    if bad & {"width", "height"}:
        raise _Reject("metadata", "size_out_of_range", meta.size)
    clip_skip = DEFAULT_CLIP_SKIP if meta.clip_skip is None else meta.clip_skip
    if not MIN_CLIP_SKIP <= clip_skip <= MAX_CLIP_SKIP:
        raise _Reject("metadata", "invalid_clip_skip", meta.clip_skip)
    base = None
    if model.type == "LORA":
        base = resolve_base(version, meta.model_hash)
    pair = {
        "image_id": image.id,
        "prompt": prompt,
        "negative_prompt": strip_network_tags(meta.negative_prompt or ""),
        "type": model.type,
        "base_model": version.base_model,
        "width": width,
        "height": height,
        "sampling_method": sampler,
        "sampling_steps": steps,
        "cfg_scale": float(cfg),
        "model_id": model.id,
        "version_id": version.id,
        "base_checkpoint_version_id": base[1].id if base else None,
        "seed": meta.seed,
        "clip_skip": clip_skip,
        "image_source": image_source(model, image),
        **lora_fields(model, version, image.id, meta),
    }
    return pair, base
