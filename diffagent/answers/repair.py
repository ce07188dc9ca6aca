"""Making a usable answer valid: one policy for parameters and one for a LoRA's base checkpoint.

Parameters (`repair_parameters`): a valid value is kept; a number out of range or off the grid is
moved to the nearest valid value (sides to a multiple of 8, steps rounded, everything clamped);
anything else (missing, not a number, an unknown sampler) takes the fallback: the model's most
common sample setting when the catalog knows one, else the paper's default for the architecture.

Base checkpoint (`repair_base`): a LoRA runs on the Checkpoint its answer names when that is a
catalog Checkpoint of the LoRA's architecture. Otherwise on the base its sample images were made
with most often (when that is such a Checkpoint), else on the most downloaded such Checkpoint;
with none in the catalog the LoRA cannot run (`None`). RRHF's reconstruction, the agent's repair
of free answers and the evaluation's render plans all use this one rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from diffagent.answers.validity import (
    NUMERIC_BOUNDS,
    PARAMETER_KEYS,
    REQUIRED_PARAMETER_KEYS,
    SAMPLERS,
    invalid_parameters,
)
from schemas.t2i import DEFAULT_CFG, DEFAULT_SAMPLER, DEFAULT_SIZE, DEFAULT_STEPS

if TYPE_CHECKING:  # the catalog imports this module at run time; only the type goes the other way
    from diffagent.catalog import Catalog


# The paper's default sampler, steps and CFG (the same for every architecture).
DEFAULT_SETTINGS: dict[str, Any] = {
    "sampling_method": DEFAULT_SAMPLER,
    "sampling_steps": DEFAULT_STEPS,
    "cfg_scale": DEFAULT_CFG,
}


def default_parameters(architecture: str) -> dict[str, Any]:
    """The paper's default parameters: the architecture's size, "Euler a", 20 steps, CFG 7."""
    if architecture not in DEFAULT_SIZE:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {tuple(DEFAULT_SIZE)}")
    width, height = DEFAULT_SIZE[architecture]
    return {"width": width, "height": height, **DEFAULT_SETTINGS}


def as_number(value: Any) -> float | None:
    """A finite number from an int, a float or a numeric string; None otherwise (bools too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def nearest_valid(key: str, number: float) -> int | float:
    """`number` moved onto `key`'s grid (multiple of 8 for sides, integers for steps) and range."""
    bounds = NUMERIC_BOUNDS[key]
    if bounds.multiple:
        snapped = int(round(number / bounds.multiple)) * bounds.multiple
        return int(min(max(snapped, bounds.low), bounds.high))
    return float(min(max(number, bounds.low), bounds.high))


def repair_parameters(
    fields: Mapping[str, Any] | None, architecture: str, fallback: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], int, int]:
    """The answer's parameters made valid: (parameters, how many clamped, how many defaulted).

    A value counts as clamped only when its number changed ("25" steps is 25: kept, not counted).
    `fallback` (the model's usual settings) fills what cannot be read; absent, the paper's
    default for `architecture` does.
    """
    fields = fields or {}
    defaults = {**default_parameters(architecture), **(fallback or {})}
    bad = invalid_parameters(fields)
    params: dict[str, Any] = {}
    clamped = defaulted = 0
    for key in PARAMETER_KEYS:
        value = fields.get(key)
        if key not in fields and key not in REQUIRED_PARAMETER_KEYS:
            # An optional parameter the answer leaves out (clip skip): the model's usual value,
            # else the schema's default.
            if key in defaults:
                params[key] = defaults[key]
            continue
        if key not in bad:
            params[key] = value
            continue
        number = as_number(value) if key in NUMERIC_BOUNDS else None
        if number is None:
            params[key], defaulted = defaults[key], defaulted + 1
            continue
        params[key] = nearest_valid(key, number)
        clamped += params[key] != number
    if params["sampling_method"] not in SAMPLERS:  # a fallback from old data may be stale
        params["sampling_method"] = DEFAULT_SAMPLER
    return params, clamped, defaulted


def repair_base(catalog: Catalog, model: str, named: Any) -> tuple[str | None, bool]:
    """The Checkpoint LoRA `model` runs on and whether it replaced `named` (see the module doc).

    For a Checkpoint (which runs on itself): (None, False).
    """
    entry = catalog[model]
    if entry.type != "LORA":
        return None, False
    bases = catalog.base_checkpoints_for(model)  # most downloaded first
    if isinstance(named, str) and named in bases:
        return named, False
    usual = catalog.sample_settings.get(model)
    if usual is not None and usual.base_checkpoint in bases:
        return usual.base_checkpoint, True
    return (bases[0] if bases else None), True
