"""Making a usable answer valid: one policy for parameters and one for a LoRA's base checkpoint.

Parameters (`repair_parameters`): a valid value is kept; a number out of range or off the grid is
moved to the nearest valid value (sides to a multiple of 8, steps rounded, everything clamped);
anything else (missing, not a number, an unknown sampler) takes the fallback: the model's most
common sample setting when the catalog knows one, else the default API of its base model
(`schemas.t2i.defaults_for`: SD "Euler a", 20 steps, CFG 7; Flux flow-matching Euler, guidance 3.5).

Base checkpoint (`repair_base`): a LoRA runs on the Checkpoint its answer names when that is a
catalog Checkpoint it can load on (`schemas.compatibility`, read through
`Catalog.base_checkpoints_for`). Otherwise on the base its sample images were made with most often
(when that is such a Checkpoint), else on the best such Checkpoint (its own base model's first,
then a close line's, then a partial one's; most downloaded first within each); with none in the
catalog the LoRA cannot run (`None`, and `Catalog.unselectable` says why). RRHF's reconstruction,
the agent's repair of free answers and the evaluation's render plans all use this one rule.
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
from schemas.t2i import defaults_for

if TYPE_CHECKING:  # the catalog imports this module at run time; only the type goes the other way
    from diffagent.catalog import Catalog


# The parameters an answer's sampler, steps and CFG are judged on (the default API's settings).
SETTING_KEYS: tuple[str, ...] = ("sampling_method", "sampling_steps", "cfg_scale")


def default_parameters(base_model: str) -> dict[str, Any]:
    """The default API's parameters for a base model: its architecture's size, sampler, steps and
    CFG (for Flux the guidance FluxPipeline takes)."""
    return defaults_for(base_model).model_dump()


def default_settings(base_model: str) -> dict[str, Any]:
    """Sampler, steps and CFG of `default_parameters(base_model)`."""
    params = default_parameters(base_model)
    return {key: params[key] for key in SETTING_KEYS}


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
    fields: Mapping[str, Any] | None, base_model: str, fallback: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], int, int]:
    """The answer's parameters made valid: (parameters, how many clamped, how many defaulted).

    A value counts as clamped only when its number changed ("25" steps is 25: kept, not counted).
    `fallback` (the model's usual settings) fills what cannot be read; absent, the default API
    of `base_model` does.
    """
    fields = fields or {}
    defaults = {**default_parameters(base_model), **(fallback or {})}
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
        params["sampling_method"] = defaults_for(base_model).sampling_method
    return params, clamped, defaulted


def repair_base(catalog: Catalog, model: str, named: Any) -> tuple[str | None, bool]:
    """The Checkpoint LoRA `model` runs on and whether it replaced `named` (see the module doc).

    For a Checkpoint (which runs on itself): (None, False).
    """
    entry = catalog[model]
    if entry.type != "LORA":
        return None, False
    bases = catalog.base_checkpoints_for(model)  # best compatibility first
    if isinstance(named, str) and named in bases:
        return named, False
    usual = catalog.sample_settings.get(model)
    if usual is not None and usual.base_checkpoint in bases:
        return usual.base_checkpoint, True
    return (bases[0] if bases else None), True
