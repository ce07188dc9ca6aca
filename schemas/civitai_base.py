"""Tolerant parsing for Civitai responses: loose numbers and strings, unknown keys kept."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict


def loose_int(value: Any) -> int | None:
    """An int from an int, a float with no fraction, or a numeric string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number = loose_float(value)
    if number is None or number != int(number):
        return None
    return int(number)


def loose_float(value: Any) -> float | None:
    """A finite float from a number or a numeric string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def loose_str(value: Any) -> str | None:
    """A string from a string or number; objects such as `Model: {...}` give their `name`."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        name = value.get("name") or value.get("title")
        return name if isinstance(name, str) else None
    return None


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
