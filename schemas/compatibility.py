"""Which base checkpoints a LoRA can run on: the one rule the catalog, the answer grammar, repair,
the retriever's base choice and the exports read (issue 25, item 2).

A LoRA's weights are deltas for one network: it loads on a checkpoint of the same network and
nowhere else (a HiDream LoRA in a Pony run fails to load, or silently does nothing). Civitai says
which base models share a network in its ecosystems (basemodel.constants.ts, `schemas.base_models`):
- `same`: the same ecosystem (and network): an SD 1.4 LoRA on an SD 1.5 checkpoint, a Flux.1 D
  LoRA on a Flux.1 S one;
- `close`: a checkpoint line trained from the LoRA's own (NoobAI-XL is a fine-tune of
  Illustrious-XL, as its model card says), where Civitai lists them as siblings;
- `partial`: Civitai's cross-ecosystem rules for LoRAs (`crossEcosystemRules`, support
  'partial'): the SDXL family's parent and children, Flux.1 <-> Flux.1 Krea, a base-model LoRA on its
  distilled turbo, AuraFlow -> Pony V7. It loads; the style carries over less well.
Anything else is refused. Both base models must also render with one architecture.
"""

from __future__ import annotations

from typing import Literal

from schemas.architectures import ARCHITECTURE_OF
from schemas.base_models import CIVITAI_NAMES

Compatibility = Literal["same", "close", "partial"]
LEVELS: tuple[Compatibility, ...] = ("same", "close", "partial")  # best first

_SDXL_FAMILY = ("SDXL", "Pony", "Illustrious", "NoobAI")
# (the LoRA's ecosystem, the checkpoint's): Civitai's LoRA rules, each one way as Civitai writes it.
_PARTIAL: frozenset[tuple[str, str]] = frozenset(
    {(a, b) for a in _SDXL_FAMILY for b in _SDXL_FAMILY if a != b}
    | {
        ("Flux1", "FluxKrea"),
        ("FluxKrea", "Flux1"),
        ("ZImageBase", "ZImageTurbo"),
        ("Flux2Klein_4B_base", "Flux2Klein_4B"),
        ("Flux2Klein_9B_base", "Flux2Klein_9B"),
        ("AuraFlow", "PonyV7"),
    }
)
# Checkpoint lines trained from one another (both ways: the same weights underneath).
_CLOSE: frozenset[tuple[str, str]] = frozenset({("Illustrious", "NoobAI"), ("NoobAI", "Illustrious")})

_NOTES: dict[Compatibility, str] = {
    "same": "LoRA for {lora} on its own base model ({checkpoint}): runs as trained",
    "close": "LoRA for {lora} on {checkpoint}, a line trained from {lora}: runs nearly as trained",
    "partial": "LoRA for {lora} on {checkpoint} (Civitai: partial support): loads, carries over less well",
}


def compatibility(lora_base_model: str, checkpoint_base_model: str) -> Compatibility | None:
    """How well a LoRA of one base model runs on a checkpoint of another; None: it cannot."""
    lora, checkpoint = CIVITAI_NAMES.get(lora_base_model), CIVITAI_NAMES.get(checkpoint_base_model)
    if lora is None or checkpoint is None:
        return None
    architecture = ARCHITECTURE_OF.get(lora_base_model)
    if architecture is None or architecture != ARCHITECTURE_OF.get(checkpoint_base_model):
        return None
    if lora.weights == checkpoint.weights:
        return "same"
    pair = (lora.ecosystem, checkpoint.ecosystem)
    if lora.network is not None or checkpoint.network is not None:
        return None  # different networks inside one Civitai ecosystem (SD 3 and SD 3.5 Large)
    if pair in _CLOSE:
        return "close"
    return "partial" if pair in _PARTIAL else None


def lora_base_levels(lora_base_model: str) -> dict[str, Compatibility]:
    """Base model -> how well a LoRA of `lora_base_model` runs on its checkpoints, best first (`LEVELS`;
    within a level, the architecture table's order). Empty for a base model no architecture renders."""
    levels = {name: compatibility(lora_base_model, name) for name in ARCHITECTURE_OF}
    return {name: found for level in LEVELS for name, found in levels.items() if found == level}


def lora_bases(lora_base_model: str) -> tuple[str, ...]:
    """The base models whose checkpoints a LoRA of `lora_base_model` runs on, best first."""
    return tuple(lora_base_levels(lora_base_model))


def compatibility_note(lora_base_model: str, checkpoint_base_model: str) -> str:
    """What the answer says about a LoRA's base: how well it runs there. Raises ValueError naming
    both base models when the LoRA cannot run on the checkpoint at all."""
    level = compatibility(lora_base_model, checkpoint_base_model)
    if level is None:
        raise ValueError(incompatibility(lora_base_model, checkpoint_base_model))
    return f"{level}: " + _NOTES[level].format(lora=lora_base_model, checkpoint=checkpoint_base_model)


def incompatibility(lora_base_model: str, checkpoint_base_model: str) -> str:
    """Why a LoRA cannot run on a checkpoint, naming both base models."""
    bases = lora_bases(lora_base_model)
    runs_on = ", ".join(bases) if bases else "no base model of the architecture table"
    return (
        f"a LoRA for {lora_base_model} cannot run on a checkpoint of {checkpoint_base_model} "
        f"(another network); it runs on: {runs_on}"
    )
