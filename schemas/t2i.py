"""The T2I API (the agent's answer) and the instruction it answers.

The paper's fields are kept by name; we add the Civitai identifiers (`model_id`, `version_id`,
`base_checkpoint_version_id`) so that every answer can be resolved, downloaded and verified.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ModelType = Literal["Checkpoint", "LORA"]
BaseModelName = Literal["SD 1.5", "SDXL 1.0"]
MODEL_TYPES: tuple[str, ...] = ("Checkpoint", "LORA")
BASE_MODELS: tuple[str, ...] = ("SD 1.5", "SDXL 1.0")

# A1111 sampler names that map onto diffusers schedulers (notes/civitai-api.md); the filter
# normalises whatever an image's metadata says onto one of these.
SAMPLERS: tuple[str, ...] = (
    "Euler a",
    "Euler",
    "LMS",
    "LMS Karras",
    "Heun",
    "DPM2",
    "DPM2 Karras",
    "DPM2 a",
    "DPM2 a Karras",
    "DPM++ 2S a",
    "DPM++ 2S a Karras",
    "DPM++ 2M",
    "DPM++ 2M Karras",
    "DPM++ SDE",
    "DPM++ SDE Karras",
    "DPM++ 2M SDE",
    "DPM++ 2M SDE Karras",
    "DPM fast",
    "DPM adaptive",
    "DDIM",
    "PLMS",
    "UniPC",
)

# Valid parameter ranges: what diffusers renders sensibly and what Civitai images use.
MIN_SIDE, MAX_SIDE, SIDE_MULTIPLE = 256, 2048, 8
MIN_STEPS, MAX_STEPS = 1, 150
MIN_CFG, MAX_CFG = 1.0, 30.0

# The paper's default API: the base model of the architecture with these parameters.
DEFAULT_SAMPLER, DEFAULT_STEPS, DEFAULT_CFG = "Euler a", 20, 7.0
DEFAULT_SIZE: dict[str, tuple[int, int]] = {"SD 1.5": (512, 512), "SDXL 1.0": (1024, 1024)}
# `version_id` of an API whose model is the architecture's own base model (SD 1.5, SDXL 1.0 base)
# rather than a Civitai version: the renderer loads it from its settings (a hub id or folder).
BASE_MODEL_VERSION_ID = 0


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


class InstructionApiPair(BaseModel):
    instruction: Instruction
    api: T2IApi
