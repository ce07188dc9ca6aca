"""From answer fields to a full T2I API: every model fact comes from the catalog.

`reconstruct` is the one path from free (unconstrained) output to an API: classify the answer,
then repair what can be repaired (`repair.py`). `assemble_api` is the strict version for answers
that must already be valid (constrained decoding, retrieval), or the repairing one. `default_api`
is the paper's default: the architecture's base model with the default parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from diffagent.answers.hallucination import HallucinationReason, classify_answer
from diffagent.answers.lora_usage import lora_usage
from diffagent.answers.repair import default_parameters, repair_base, repair_parameters
from diffagent.answers.validity import PARAMETER_KEYS, invalid_parameters, same_architecture
from schemas.architectures import DEFAULT_BASE_MODELS
from schemas.compatibility import compatibility_note, incompatibility
from schemas.dabench import CatalogEntry
from schemas.t2i import BASE_MODEL_VERSION_ID, T2IApi

if TYPE_CHECKING:
    from diffagent.catalog import Catalog


def api_from_entry(entry: CatalogEntry, base: CatalogEntry | None, **params: Any) -> T2IApi:
    """The full API for a catalog entry (and a LoRA's base) with the given parameters: every
    model fact, the description included, comes from the catalog. A LoRA's answer says how well it
    runs on its base (`compatibility`); a base it cannot load on raises ValueError naming both."""
    note = compatibility_note(entry.base_model, base.base_model) if base else None
    return T2IApi(
        model=entry.model,
        type=entry.type,
        base_model=entry.base_model,
        base_checkpoint=base.model if base else None,
        model_id=entry.model_id,
        version_id=entry.version_id,
        base_checkpoint_version_id=base.version_id if base else None,
        model_description=entry.model_description,
        compatibility=note,
        **params,
    )


@dataclass(frozen=True)
class Reconstruction:
    """One free answer rebuilt: the API (None when hallucinated, with the reason) and the repairs."""

    api: T2IApi | None
    reason: HallucinationReason | None = None
    clamped: int = 0  # numeric parameters moved into their valid range
    defaulted: int = 0  # unreadable parameters replaced by the model's usual (or the default) value
    base_replaced: bool = False  # a LoRA's named base was not a usable Checkpoint


def reconstruct(
    fields: Mapping[str, Any] | None, catalog: Catalog, architecture: str | None = None
) -> Reconstruction:
    """The API a free answer stands for, repaired (see `repair.py`), or why there is none."""
    reason = classify_answer(fields, catalog, architecture)
    if reason is not None:
        return Reconstruction(None, reason)
    model = str((fields or {})["model"])  # classify_answer rejects an answer without one
    entry = catalog[model]
    usual = catalog.settings_for(model)
    params, clamped, defaulted = repair_parameters(fields, entry.base_model, usual.parameters())
    base, replaced = repair_base(catalog, model, (fields or {}).get("base_checkpoint"))
    usage = lora_usage(entry, usual, fields)
    api = api_from_entry(entry, catalog[base] if base else None, **params, **usage)
    return Reconstruction(api, None, clamped, defaulted, replaced)


def assemble_api(fields: Mapping[str, Any] | None, catalog: Catalog, repair: bool = False) -> T2IApi:
    """The full T2I API for generated `fields`: model facts and description come from the catalog.

    Raises ValueError when the answer is hallucinated (`classify_answer`), or, unless `repair`,
    when a parameter or a LoRA's base checkpoint is invalid. With `repair` those are fixed as
    `reconstruct` does (RRHF's response reconstruction).
    """
    rebuilt = reconstruct(fields, catalog)
    if rebuilt.api is None:
        model = (fields or {}).get("model")
        raise ValueError(f"{rebuilt.reason}: model {model!r} is not in the catalog or cannot run")
    if repair:
        return rebuilt.api
    fields = fields or {}
    bad = sorted(invalid_parameters(fields), key=PARAMETER_KEYS.index)
    if bad:
        shown = ", ".join(f"{key}={fields.get(key)!r}" for key in bad)
        raise ValueError(f"invalid parameters for {fields['model']!r}: {shown}")
    if rebuilt.base_replaced:
        entry, named = catalog[fields["model"]], fields.get("base_checkpoint")
        refused = f"base_checkpoint {named!r} is not a {entry.base_model} Checkpoint of the catalog"
        if isinstance(named, str) and named in catalog and catalog[named].type == "Checkpoint":
            refused += f": {incompatibility(entry.base_model, catalog[named].base_model)}"
        raise ValueError(refused)
    return rebuilt.api  # nothing needed repair: it is the answer as given


def default_api(architecture: str, catalog: Catalog, base_models: Mapping[str, str] | None = None) -> T2IApi:
    """The default API of a published base model (`architecture` is its name: "SD 1.5", "Flux.1 S"):
    its own model (`base_models`, default `schemas.architectures.DEFAULT_BASE_MODELS`: Flux.1 S is
    FLUX.1-schnell, Flux.1 D FLUX.1-dev) with its default parameters (`default_parameters`: SD
    "Euler a", 20 steps, CFG 7; Flux flow-matching Euler, guidance 3.5; schnell 4 steps)."""
    base_models = base_models or DEFAULT_BASE_MODELS
    if architecture not in base_models:
        raise ValueError(
            f"no default base model for architecture {architecture!r}; have {sorted(base_models)}"
        )
    params = default_parameters(architecture)
    name = base_models[architecture]
    entry = catalog.get(name)
    if entry is None:  # a hub id or folder, not a Civitai version
        return T2IApi(
            model=name,
            type="Checkpoint",
            base_model=architecture,
            model_id=BASE_MODEL_VERSION_ID,
            version_id=BASE_MODEL_VERSION_ID,
            model_description=f"The {architecture} base model.",
            **params,
        )
    if entry.type != "Checkpoint" or not same_architecture(entry.base_model, architecture):
        raise ValueError(
            f"default base {name!r} is a {entry.base_model} {entry.type}, not a {architecture} Checkpoint"
        )
    return api_from_entry(entry, None, **params)
