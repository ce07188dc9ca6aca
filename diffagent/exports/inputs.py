"""What every exporter needs: the answer plus the catalog's files for it, the prompt and a seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.t2i import T2IApi

# A T2I API has no seed: exports fix one so the same answer renders the same image everywhere.
DEFAULT_SEED = 0
# Nor a LoRA strength: 1 is what A1111, ComfyUI and diffusers default to.
DEFAULT_LORA_WEIGHT = 1.0


@dataclass(frozen=True)
class ExportInputs:
    api: T2IApi
    checkpoint_file: str  # the checkpoint to load: the model's own file, or a LoRA's base checkpoint's
    checkpoint_sha256: str  # "" when the catalog does not know it
    lora_file: str | None  # the LoRA's file, None for a Checkpoint
    prompt: str
    negative_prompt: str = ""
    seed: int = DEFAULT_SEED
    lora_weight: float = DEFAULT_LORA_WEIGHT


def _file_of(entry: dict[str, Any]) -> str:
    name = entry.get("file_name")
    if not name:
        raise ValueError(f"catalog entry {entry['model']!r} has no file_name; exports need the model's file")
    return str(name)


def export_inputs(
    api: T2IApi,
    catalog: Any,
    prompt: str,
    negative_prompt: str = "",
    seed: int = DEFAULT_SEED,
    lora_weight: float = DEFAULT_LORA_WEIGHT,
) -> ExportInputs:
    """Look up the files of `api` (and of a LoRA's base checkpoint) in `catalog` (an agent Catalog)."""
    entry = catalog.by_model[api.model]
    checkpoint = catalog.by_model[api.base_checkpoint] if api.type == "LORA" else entry
    return ExportInputs(
        api=api,
        checkpoint_file=_file_of(checkpoint),
        checkpoint_sha256=str(checkpoint.get("sha256") or ""),
        lora_file=_file_of(entry) if api.type == "LORA" else None,
        prompt=prompt,
        negative_prompt=negative_prompt,
        seed=seed,
        lora_weight=lora_weight,
    )


def civitai_page(model_id: int, version_id: int) -> str:
    """The Civitai page of one model version."""
    return f"https://civitai.com/models/{model_id}?modelVersionId={version_id}"


def file_stem(file_name: str) -> str:
    """`realisticVision_v51.safetensors` -> `realisticVision_v51`: how A1111 names models and LoRAs."""
    return file_name.rsplit(".", 1)[0] if "." in file_name else file_name


def number(value: float) -> str:
    """7.0 -> "7", 7.5 -> "7.5": the way A1111 prints a CFG scale or LoRA weight."""
    return f"{value:g}"
