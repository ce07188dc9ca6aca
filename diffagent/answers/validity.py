"""What makes an answer's parameters valid, read off `schemas.t2i` (the single source of the rules).

Bounds come from the pydantic `GenerationParameters` fields (their `ge`/`le`/`multiple_of`), the
sampler list from `SAMPLERS`, and the vLLM JSON schema from `model_json_schema()`, so a change to
the schema reaches validation, repair, the decoding trie and the guided-decoding grammar at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import ValidationError

from schemas.t2i import SAMPLERS, GenerationParameters, ModelInformation

PARAMETER_KEYS: tuple[str, ...] = tuple(GenerationParameters.model_fields)
# The generated answer, in the order the agent writes it: the trained format, so written out
# (a field added to the schema must not silently change what the agent was trained on).
ANSWER_KEYS: tuple[str, ...] = (
    "model",
    "type",
    "base_model",
    "base_checkpoint",
    "width",
    "height",
    "sampling_method",
    "sampling_steps",
    "cfg_scale",
)
_unknown = set(ANSWER_KEYS) - set(ModelInformation.model_fields) - set(PARAMETER_KEYS)
if _unknown:  # a renamed schema field must fail at import, not mid-training
    raise ImportError(f"ANSWER_KEYS name fields the T2I schema lacks: {sorted(_unknown)}")
SIDE_KEYS = ("width", "height")


def same_architecture(base_model: str, other: str) -> bool:
    """Whether two `base_model` names run on the same pipeline (a LoRA on a Checkpoint).

    Every base-model comparison goes through here, so grouping names into architectures
    (SD 1.x, SDXL, ...) is a change in one place.
    """
    return base_model == other


@dataclass(frozen=True)
class Bounds:
    """The valid range of a numeric parameter (`multiple` 1 for steps, 0 for a float)."""

    low: float
    high: float
    multiple: int

    def values(self, step: float = 0.1) -> list[int] | list[float]:
        """Every valid value: integers on the multiple's grid, floats on `step`'s (CFG in tenths)."""
        if self.multiple:
            return list(range(int(self.low), int(self.high) + 1, self.multiple))
        count = round((self.high - self.low) / step)
        return [round(self.low + i * step, 1) for i in range(count + 1)]


def _bounds(key: str) -> Bounds:
    field = GenerationParameters.model_fields[key]
    low = next(m.ge for m in field.metadata if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in field.metadata if isinstance(m, annotated_types.Le))
    multiples = [m.multiple_of for m in field.metadata if isinstance(m, annotated_types.MultipleOf)]
    integer = field.annotation is int
    return Bounds(low, high, multiples[0] if multiples else (1 if integer else 0))


NUMERIC_BOUNDS: dict[str, Bounds] = {key: _bounds(key) for key in PARAMETER_KEYS if key != "sampling_method"}


def invalid_parameters(fields: Mapping[str, Any] | None) -> set[str]:
    """The parameter keys whose value is missing or breaks `GenerationParameters` (strict types:
    the string "7" is not a CFG scale, 30.0 is not a step count)."""
    data = {key: value for key, value in (fields or {}).items() if key in PARAMETER_KEYS}
    try:
        GenerationParameters.model_validate(data, strict=True)
    except ValidationError as error:
        return {str(e["loc"][0]) for e in error.errors() if e["loc"]}
    return set()


def valid_parameters(fields: Mapping[str, Any] | None) -> bool:
    return not invalid_parameters(fields)


def answer_json_schema(models: list[str], checkpoints: list[str]) -> dict[str, Any]:
    """The answer object as a JSON schema (vLLM guided decoding), from the pydantic models.

    `model` is narrowed to `models`, `base_checkpoint` to `checkpoints` or null; the rest (the
    type and base model enums, the sampler enum, the numeric ranges) is the schema's own.
    """
    properties = {
        **ModelInformation.model_json_schema()["properties"],
        **GenerationParameters.model_json_schema()["properties"],
    }
    narrowed = {
        "model": {"type": "string", "enum": list(models)},
        "base_checkpoint": {"anyOf": [{"type": "string", "enum": list(checkpoints)}, {"type": "null"}]},
    }
    drop = ("title", "default")
    ordered = {
        key: narrowed.get(key) or {k: v for k, v in properties[key].items() if k not in drop}
        for key in ANSWER_KEYS
    }
    return {
        "type": "object",
        "properties": ordered,
        "required": list(ANSWER_KEYS),
        "additionalProperties": False,
    }


__all__ = [
    "ANSWER_KEYS",
    "NUMERIC_BOUNDS",
    "PARAMETER_KEYS",
    "SAMPLERS",
    "Bounds",
    "answer_json_schema",
    "invalid_parameters",
    "same_architecture",
    "valid_parameters",
]
