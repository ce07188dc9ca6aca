"""The T2I API (the agent's answer) and the instruction it answers.

The paper's fields are kept by name; we add the Civitai identifiers (`model_id`, `version_id`,
`base_checkpoint_version_id`) so that every answer can be resolved, downloaded and verified.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.architectures import (
    ARCHITECTURE_DEFAULTS,
    ARCHITECTURE_OF,
    ARCHITECTURES,
    BASE_MODEL_DEFAULTS,
    BASE_MODELS,
    ArchitectureDefaults,
    architecture_of,
    defaults_for,
)
from schemas.samplers import SAMPLERS

# Strengths a LoRA is used at: A1111 takes any number, but past these an image is noise.
LORA_WEIGHT_RANGE: tuple[float, float] = (-4.0, 4.0)

ModelType = Literal["Checkpoint", "LORA"]
MODEL_TYPES: tuple[str, ...] = ("Checkpoint", "LORA")

# The architectures and Civitai base model names we take, and every fact about them, live in one
# table (schemas.architectures); the samplers in another (schemas.samplers). Re-exported here.
Architecture = Literal[ARCHITECTURES]  # type: ignore[valid-type]
BaseModelName = Literal[BASE_MODELS]  # type: ignore[valid-type]


# Valid parameter ranges: what diffusers renders sensibly and what Civitai images use.
MIN_SIDE, MAX_SIDE, SIDE_MULTIPLE = 256, 2048, 8
MIN_STEPS, MAX_STEPS = 1, 150
MIN_CFG, MAX_CFG = 1.0, 30.0

MIN_CLIP_SKIP, MAX_CLIP_SKIP, DEFAULT_CLIP_SKIP = 1, 12, 1


# `version_id` of an API whose model is the architecture's own base model (SD 1.5, SDXL 1.0 base)
# rather than a Civitai version: the renderer loads it from its settings (a hub id or folder).
BASE_MODEL_VERSION_ID = 0

__all__ = [
    "ARCHITECTURES",
    "ARCHITECTURE_DEFAULTS",
    "ARCHITECTURE_OF",
    "BASE_MODELS",
    "BASE_MODEL_DEFAULTS",
    "BASE_MODEL_VERSION_ID",
    "DEFAULT_CLIP_SKIP",
    "MODEL_TYPES",
    "SAMPLERS",
    "Architecture",
    "ArchitectureDefaults",
    "BaseModelName",
    "GenerationParameters",
    "Instruction",
    "InstructionApiPair",
    "ModelInformation",
    "ModelType",
    "T2IApi",
    "architecture_of",
    "defaults_for",
]


class Instruction(BaseModel):
    """What a user sends: a prompt and an optional negative prompt."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    negative_prompt: str = ""


class GenerationParameters(BaseModel):
    """The "parameter information" half of a T2I API."""

    width: int = Field(ge=MIN_SIDE, le=MAX_SIDE, multiple_of=SIDE_MULTIPLE)
    height: int = Field(ge=MIN_SIDE, le=MAX_SIDE, multiple_of=SIDE_MULTIPLE)
    # The enum is for JSON schemas (vLLM's guided decoding); the validator below enforces it.
    sampling_method: str = Field(json_schema_extra={"enum": list(SAMPLERS)})
    sampling_steps: int = Field(ge=MIN_STEPS, le=MAX_STEPS)
    cfg_scale: float = Field(ge=MIN_CFG, le=MAX_CFG)
    # Civitai's `Clip skip` (2 is common for anime SD 1.5 and for Pony). A1111's count: 1 uses the
    # text encoder's last layer, 2 the one before it; diffusers' `clip_skip` counts layers skipped,
    # so the renderer passes clip_skip - 1.
    clip_skip: int = Field(DEFAULT_CLIP_SKIP, ge=MIN_CLIP_SKIP, le=MAX_CLIP_SKIP)

    @field_validator("sampling_method")
    @classmethod
    def _known_sampler(cls, value: str) -> str:
        if value not in SAMPLERS:
            raise ValueError(f"unknown sampling_method {value!r}; expected one of {SAMPLERS}")
        return value


class ModelInformation(BaseModel):
    """The "model information" half: which Civitai model (and base checkpoint for a LoRA)."""

    model: str
    type: ModelType
    base_model: BaseModelName
    base_checkpoint: str | None = None

    @model_validator(mode="after")
    def _lora_has_base(self) -> ModelInformation:
        if self.type == "LORA" and not self.base_checkpoint:
            raise ValueError(f"LoRA {self.model!r} needs a base_checkpoint")
        if self.type == "Checkpoint" and self.base_checkpoint:
            raise ValueError(f"Checkpoint {self.model!r} must not name a base_checkpoint")
        return self


class T2IApi(ModelInformation, GenerationParameters):
    """A complete, resolvable answer: model information + parameters + catalog facts."""

    model_id: int
    version_id: int
    base_checkpoint_version_id: int | None = None
    model_description: str = ""
    # For a LoRA, how well it runs on its base checkpoint (`schemas.compatibility.compatibility_note`:
    # "same: ...", "close: ...", "partial: ..."); None for a Checkpoint.
    compatibility: str | None = None
    # A LoRA's strength (`<lora:name:w>`, ComfyUI's LoraLoader strengths, diffusers' adapter weight)
    # and the trigger words the prompt needs; filled from the LoRA's nearest samples, then its usual
    # use (`diffagent.answers.lora_usage`). None / empty for a Checkpoint.
    lora_weight: float | None = None
    trigger_words: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _lora_usage_is_a_loras(self) -> T2IApi:
        if self.type == "Checkpoint" and (self.lora_weight is not None or self.trigger_words):
            raise ValueError(f"Checkpoint {self.model!r} takes no lora_weight or trigger_words")
        low, high = LORA_WEIGHT_RANGE
        if self.lora_weight is not None and not low <= self.lora_weight <= high:
            raise ValueError(f"lora_weight {self.lora_weight} of {self.model!r} is outside [{low}, {high}]")
        return self


class InstructionApiPair(BaseModel):
    instruction: Instruction
    api: T2IApi
