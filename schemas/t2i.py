"""The T2I API (the agent's answer) and the instruction it answers.

The paper's fields are kept by name; we add the Civitai identifiers (`model_id`, `version_id`,
`base_checkpoint_version_id`) so that every answer can be resolved, downloaded and verified.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ModelType = Literal["Checkpoint", "LORA"]
MODEL_TYPES: tuple[str, ...] = ("Checkpoint", "LORA")

# Civitai's `baseModel` names we take, and the network architecture each one is: Pony, Illustrious
# and NoobAI are SDXL fine-tunes (same UNet, VAE and two text encoders), so their files load with
# the SDXL pipeline, and a LoRA trained on one loads on any checkpoint of the same architecture.
Architecture = Literal["sd1", "sdxl", "flux"]
ARCHITECTURES: tuple[str, ...] = ("sd1", "sdxl", "flux")
BaseModelName = Literal[
    "SD 1.4", "SD 1.5", "SDXL 1.0", "Pony", "Illustrious", "NoobAI", "Flux.1 D", "Flux.1 S"
]
ARCHITECTURE_OF: dict[str, str] = {
    "SD 1.4": "sd1",
    "SD 1.5": "sd1",
    "SDXL 1.0": "sdxl",
    "Pony": "sdxl",
    "Illustrious": "sdxl",
    "NoobAI": "sdxl",
    "Flux.1 D": "flux",
    "Flux.1 S": "flux",
}
BASE_MODELS: tuple[str, ...] = tuple(ARCHITECTURE_OF)


def architecture_of(base_model: str) -> str:
    """The architecture (`sd1`, `sdxl`, `flux`) of a Civitai base model name."""
    if base_model not in ARCHITECTURE_OF:
        raise ValueError(f"unknown base_model {base_model!r}; expected one of {BASE_MODELS}")
    return ARCHITECTURE_OF[base_model]


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

MIN_CLIP_SKIP, MAX_CLIP_SKIP, DEFAULT_CLIP_SKIP = 1, 12, 1


class ArchitectureDefaults(BaseModel):
    """The default API's parameters for one architecture. For Flux `cfg_scale` is the distilled
    guidance FluxPipeline takes (`guidance_scale`), not classifier-free guidance."""

    model_config = ConfigDict(frozen=True)

    width: int
    height: int
    sampling_method: str
    sampling_steps: int
    cfg_scale: float


# The paper's default API: the base model of the architecture with these parameters ("Euler a",
# 20 steps, CFG 7 for SD). Flux renders with its flow-matching Euler at the guidance 3.5 that
# Flux.1 D is distilled for (20 steps: ComfyUI's and Forge's default for it).
_SD, _FLUX = {"sampling_method": "Euler a", "cfg_scale": 7.0}, {"sampling_method": "Euler", "cfg_scale": 3.5}
ARCHITECTURE_DEFAULTS: dict[str, ArchitectureDefaults] = {
    "sd1": ArchitectureDefaults(width=512, height=512, sampling_steps=20, **_SD),
    "sdxl": ArchitectureDefaults(width=1024, height=1024, sampling_steps=20, **_SD),
    "flux": ArchitectureDefaults(width=1024, height=1024, sampling_steps=20, **_FLUX),
}
# Per base model: its architecture's defaults, except Flux.1 S (schnell), which is distilled to 4
# steps and has no guidance embedding (FluxPipeline ignores guidance for it; CFG 1 is "none", what
# Forge writes for it).
BASE_MODEL_DEFAULTS: dict[str, ArchitectureDefaults] = {
    name: ARCHITECTURE_DEFAULTS[arch] for name, arch in ARCHITECTURE_OF.items()
}
BASE_MODEL_DEFAULTS["Flux.1 S"] = ARCHITECTURE_DEFAULTS["flux"].model_copy(
    update={"sampling_steps": 4, "cfg_scale": 1.0}
)


def defaults_for(base_model: str) -> ArchitectureDefaults:
    """The default parameters of a base model (its architecture's, Flux.1 S's own steps)."""
    architecture_of(base_model)  # names the bad value
    return BASE_MODEL_DEFAULTS[base_model]


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


class InstructionApiPair(BaseModel):
    instruction: Instruction
    api: T2IApi
