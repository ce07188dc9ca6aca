"""Availability filter and response reconstruction (paper section 3.2.2).

From the raw texts the SFT agent produced for one prompt, keep the *model information* of every
candidate that names a catalog entry, rebuild the full T2I API from the catalog (type, base model,
description, Civitai ids) with the candidate's own parameters, repaired when invalid (clamped into
range when numeric, else the architecture's default; every repair counted), add the default API
(the architecture's base model with "Euler a", 20 steps, CFG 7) and drop duplicates.

The default base model of each architecture is a setting (`base_models`): a catalog Checkpoint's
`model` string, or a hub id / local path. A base that is not a catalog entry gets model_id = 0 and
version_id = 0, which means "not a Civitai model: load `model` as a diffusers checkpoint".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.dabench import CatalogEntry
from schemas.t2i import (
    DEFAULT_CFG,
    DEFAULT_SAMPLER,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    MAX_CFG,
    MAX_SIDE,
    MAX_STEPS,
    MIN_CFG,
    MIN_SIDE,
    MIN_STEPS,
    SAMPLERS,
    SIDE_MULTIPLE,
    T2IApi,
    architecture_of,
)

DEFAULT_BASE_MODELS: dict[str, str] = {
    "SD 1.5": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "SDXL 1.0": "stabilityai/stable-diffusion-xl-base-1.0",
}
PARAMETER_KEYS = ("width", "height", "sampling_method", "sampling_steps", "cfg_scale")


@dataclass
class ReconstructionStats:
    """Counts over the raw candidates of one or more prompts (summable with `+`)."""

    candidates: int = 0
    unparseable: int = 0  # no JSON object, or no model string in it
    unknown_model: int = 0  # names a model that is not in the catalog
    kept: int = 0  # rebuilt into an API (before de-duplication)
    duplicates: int = 0
    params_clamped: int = 0  # numeric parameters moved into their valid range
    params_defaulted: int = 0  # missing or unusable parameters replaced by the default
    base_checkpoint_defaulted: int = 0  # a LoRA's base that is not a catalog Checkpoint of its architecture
    per_reason: dict[str, int] = field(default_factory=dict)

    @property
    def hallucinated(self) -> int:
        """Candidates that name no catalog model (the paper's hallucination error)."""
        return self.unparseable + self.unknown_model

    @property
    def hallucination_rate(self) -> float:
        return self.hallucinated / self.candidates if self.candidates else 0.0

    def __add__(self, other: ReconstructionStats) -> ReconstructionStats:
        reasons = dict(self.per_reason)
        for key, value in other.per_reason.items():
            reasons[key] = reasons.get(key, 0) + value
        counts = {
            name: getattr(self, name) + getattr(other, name)
            for name in ReconstructionStats.__dataclass_fields__
            if name != "per_reason"
        }
        return ReconstructionStats(**counts, per_reason=reasons)

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in ReconstructionStats.__dataclass_fields__}
        return {**data, "hallucinated": self.hallucinated, "hallucination_rate": self.hallucination_rate}


def catalog_by_model(entries: Iterable[CatalogEntry | Mapping[str, Any]]) -> dict[str, CatalogEntry]:
    """Catalog rows keyed by their unique `model` string."""
    index: dict[str, CatalogEntry] = {}
    for row in entries:
        entry = row if isinstance(row, CatalogEntry) else CatalogEntry.model_validate(dict(row))
        if entry.model in index:
            raise ValueError(f"catalog names model {entry.model!r} twice")
        index[entry.model] = entry
    return index


def parse_candidate(text: str) -> dict[str, Any] | None:
    """The first JSON object in a generated text, or None (garbage is expected from an SFT model)."""
    import json

    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text[start:])
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def repair_parameters(fields: Mapping[str, Any], architecture: str) -> tuple[dict[str, Any], int, int]:
    """The candidate's parameters made valid: (parameters, how many clamped, how many defaulted).

    Sides are rounded to a multiple of 8 and clamped to [256, 2048]; steps rounded and clamped to
    [1, 150]; CFG clamped to [1, 30]; an unknown sampler, or a value that is not a number, takes the
    architecture's default (size from DEFAULT_SIZE, "Euler a", 20 steps, CFG 7).
    """
    if architecture not in DEFAULT_SIZE:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {tuple(DEFAULT_SIZE)}")
    default_width, default_height = DEFAULT_SIZE[architecture]
    defaults = {"width": default_width, "height": default_height, "sampling_steps": DEFAULT_STEPS}
    ranges = {
        "width": (MIN_SIDE, MAX_SIDE),
        "height": (MIN_SIDE, MAX_SIDE),
        "sampling_steps": (MIN_STEPS, MAX_STEPS),
    }
    clamped = defaulted = 0
    params: dict[str, Any] = {}
    for key in ("width", "height", "sampling_steps"):
        number = _number(fields.get(key))
        if number is None:
            params[key], defaulted = defaults[key], defaulted + 1
            continue
        multiple = SIDE_MULTIPLE if key != "sampling_steps" else 1
        low, high = ranges[key]
        value = min(max(int(round(number / multiple)) * multiple, low), high)
        clamped += value != number
        params[key] = value
    cfg = _number(fields.get("cfg_scale"))
    if cfg is None:
        params["cfg_scale"], defaulted = DEFAULT_CFG, defaulted + 1
    else:
        params["cfg_scale"] = min(max(cfg, MIN_CFG), MAX_CFG)
        clamped += params["cfg_scale"] != cfg
    sampler = fields.get("sampling_method")
    if sampler in SAMPLERS:
        params["sampling_method"] = sampler
    else:
        params["sampling_method"], defaulted = DEFAULT_SAMPLER, defaulted + 1
    return params, clamped, defaulted


def default_api(
    architecture: str, catalog: Mapping[str, CatalogEntry], base_models: Mapping[str, str] | None = None
) -> T2IApi:
    """The paper's default API: the architecture's base model, default size, "Euler a", 20 steps, CFG 7."""
    base_models = base_models or DEFAULT_BASE_MODELS
    if architecture not in base_models or architecture not in DEFAULT_SIZE:
        raise ValueError(
            f"no default base model for architecture {architecture!r}; have {sorted(base_models)}"
        )
    name = base_models[architecture]
    entry = catalog.get(name)
    if entry is not None and (entry.type != "Checkpoint" or entry.base_model != architecture):
        raise ValueError(
            f"default base {name!r} is a {entry.base_model} {entry.type}, not a {architecture} Checkpoint"
        )
    width, height = DEFAULT_SIZE[architecture]
    return T2IApi(
        model=name,
        type="Checkpoint",
        base_model=architecture,
        model_id=entry.model_id if entry else 0,
        version_id=entry.version_id if entry else 0,
        model_description=entry.model_description if entry else f"The {architecture} base model.",
        width=width,
        height=height,
        sampling_method=DEFAULT_SAMPLER,
        sampling_steps=DEFAULT_STEPS,
        cfg_scale=DEFAULT_CFG,
    )


def lora_base(
    fields: Mapping[str, Any], catalog: Mapping[str, CatalogEntry], architecture: str
) -> tuple[CatalogEntry | None, bool]:
    """A LoRA answer's base: the named one if it is a catalog Checkpoint of `architecture`, else the
    most downloaded such Checkpoint (and True: it was replaced); None when the catalog has none.
    Shared by RRHF's reconstruction and the evaluation, so both repair a base the same way."""
    named = catalog.get(str(fields.get("base_checkpoint") or ""))
    wanted = architecture_of(architecture)
    if named is not None and named.type == "Checkpoint" and architecture_of(named.base_model) == wanted:
        return named, False
    same = [e for e in catalog.values() if e.type == "Checkpoint" and architecture_of(e.base_model) == wanted]
    return (max(same, key=lambda e: e.download_count) if same else None), True


def api_from_entry(entry: CatalogEntry, base: CatalogEntry | None, **params: Any) -> T2IApi:
    """The full API for a catalog entry (and a LoRA's base) with the given parameters: every
    model fact, the description included, comes from the catalog."""
    return T2IApi(
        model=entry.model,
        type=entry.type,
        base_model=entry.base_model,
        base_checkpoint=base.model if base else None,
        model_id=entry.model_id,
        version_id=entry.version_id,
        base_checkpoint_version_id=base.version_id if base else None,
        model_description=entry.model_description,
        **params,
    )


def reconstruct_one(
    fields: Mapping[str, Any] | None, catalog: Mapping[str, CatalogEntry]
) -> tuple[T2IApi | None, str, tuple[int, int, bool]]:
    """(API or None, reason it was dropped or "", (clamped, defaulted, base defaulted))."""
    model = fields.get("model") if fields else None
    if not isinstance(model, str) or not model:
        return None, "unparseable", (0, 0, False)
    entry = catalog.get(model)
    if entry is None:
        return None, "unknown_model", (0, 0, False)
    params, clamped, defaulted = repair_parameters(fields, entry.base_model)
    base, base_defaulted = (None, False)
    if entry.type == "LORA":
        base, base_defaulted = lora_base(fields, catalog, entry.base_model)
        if base is None:
            return None, "no_base_checkpoint", (0, 0, False)
    api = api_from_entry(entry, base, **params)
    return api, "", (clamped, defaulted, base_defaulted)


def api_key(api: T2IApi) -> tuple:
    """What makes two responses the same render: model, base and parameters (not the description)."""
    return (api.model, api.base_checkpoint, *(getattr(api, key) for key in PARAMETER_KEYS))


def reconstruct_candidates(
    texts: Iterable[str],
    catalog: Mapping[str, CatalogEntry],
    architecture: str,
    base_models: Mapping[str, str] | None = None,
) -> tuple[list[T2IApi], ReconstructionStats]:
    """The n responses of one prompt: rebuilt catalog candidates (first-seen order) + the default API
    of `architecture` (the prompt's), without duplicates; and the counts."""
    stats = ReconstructionStats()
    responses: list[T2IApi] = []
    seen: set[tuple] = set()
    for text in texts:
        stats.candidates += 1
        api, reason, (clamped, defaulted, base_defaulted) = reconstruct_one(parse_candidate(text), catalog)
        if api is None:
            stats.per_reason[reason] = stats.per_reason.get(reason, 0) + 1
            if reason in ("unparseable", "unknown_model"):
                setattr(stats, reason, getattr(stats, reason) + 1)
            continue
        stats.kept += 1
        stats.params_clamped += clamped
        stats.params_defaulted += defaulted
        stats.base_checkpoint_defaulted += base_defaulted
        if api_key(api) in seen:
            stats.duplicates += 1
            continue
        seen.add(api_key(api))
        responses.append(api)
    default = default_api(architecture, catalog, base_models)
    if api_key(default) not in seen:
        responses.append(default)
    return responses, stats
