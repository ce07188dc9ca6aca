"""What every exporter needs: the answer plus the catalog's files for it, the prompt and a seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffagent.answers.lora_usage import DEFAULT_LORA_WEIGHT, with_trigger_words
from schemas.architectures import config_setting
from schemas.compatibility import compatibility, incompatibility
from schemas.t2i import T2IApi

# A T2I API has no seed: exports fix one so the same answer renders the same image everywhere.
DEFAULT_SEED = 0


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
    lora_sha256: str = ""  # "" for a Checkpoint or when the catalog does not know it
    lora_autov3: str = ""  # the LoRA file's AutoV3 as Civitai lists it; "" when unknown
    # Words the LoRA was trained on that the prompt needs to trigger it; appended to the prompt.
    trigger_words: tuple[str, ...] = ()
    # The local diffusers folder `render` loads this architecture's single files with, when its
    # DIFFAGENT_*_CONFIG setting names one; None: the hub repository (the script then needs the hub).
    config_folder: str | None = None


def _file_of(entry: dict[str, Any]) -> str:
    name = entry.get("file_name")
    if not name:
        raise ValueError(f"catalog entry {entry['model']!r} has no file_name; exports need the model's file")
    return str(name)


def configured_folder(base_model: str) -> str | None:
    """The base model's config folder from `render`'s settings (DIFFAGENT_SD15_CONFIG, ...) when
    set away from its default hub repository, else None."""
    from diffagent.render.settings import RenderSettings

    setting = config_setting(base_model)
    configured = getattr(RenderSettings(), setting)
    default = RenderSettings.model_fields[setting].default
    return None if configured == default else configured


def export_inputs(
    api: T2IApi,
    catalog: Any,
    prompt: str,
    negative_prompt: str = "",
    seed: int = DEFAULT_SEED,
    lora_weight: float | None = None,
    trigger_words: list[str] | tuple[str, ...] | None = None,
) -> ExportInputs:
    """Look up the files of `api` (and of a LoRA's base checkpoint) in `catalog` (an agent Catalog).
    `lora_weight` and `trigger_words` default to the answer's own (`api.lora_weight`,
    `api.trigger_words`, when the API carries them), else 1.0 and none."""
    entry = catalog.by_model[api.model]
    lora = api.type == "LORA"
    checkpoint = catalog.by_model[api.base_checkpoint] if lora else entry
    # The one compatibility rule: a LoRA exported onto a checkpoint it cannot load is refused.
    if lora and compatibility(entry["base_model"], checkpoint["base_model"]) is None:
        raise ValueError(
            f"cannot export {api.model!r} on {api.base_checkpoint!r}: "
            + incompatibility(entry["base_model"], checkpoint["base_model"])
        )
    if lora_weight is None:
        own = getattr(api, "lora_weight", None)
        lora_weight = DEFAULT_LORA_WEIGHT if own is None else own
    if trigger_words is None:
        trigger_words = getattr(api, "trigger_words", None) or ()
    return ExportInputs(
        api=api,
        checkpoint_file=_file_of(checkpoint),
        checkpoint_sha256=str(checkpoint.get("sha256") or ""),
        lora_file=_file_of(entry) if lora else None,
        prompt=prompt,
        negative_prompt=negative_prompt,
        seed=seed,
        lora_weight=lora_weight,
        lora_sha256=str(entry.get("sha256") or "") if lora else "",
        lora_autov3=str(entry.get("autov3") or "") if lora else "",
        trigger_words=tuple(trigger_words),
        config_folder=configured_folder(api.base_model),
    )


def prompt_with_trigger_words(inputs: ExportInputs) -> str:
    """The prompt with the answer's trigger words (`answers.lora_usage.with_trigger_words`)."""
    return with_trigger_words(inputs.prompt, inputs.trigger_words)


def civitai_page(model_id: int, version_id: int) -> str:
    """The Civitai page of one model version."""
    return f"https://civitai.com/models/{model_id}?modelVersionId={version_id}"


def file_stem(file_name: str) -> str:
    """`realisticVision_v51.safetensors` -> `realisticVision_v51`: how A1111 names models and LoRAs."""
    return file_name.rsplit(".", 1)[0] if "." in file_name else file_name


def number(value: float) -> str:
    """7.0 -> "7", 7.5 -> "7.5": the way A1111 prints a CFG scale or LoRA weight."""
    return f"{value:g}"
