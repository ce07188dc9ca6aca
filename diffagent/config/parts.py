"""Dataclasses as config parts: validated by pydantic, described by their fields' `help`.

A stage's settings stay plain dataclasses (hashable into cache keys, rebuilt from JSON on a
work-pool worker); `config_part` lets a pydantic config hold one as a field, refusing unknown
keys and carrying each field's `metadata["help"]` into the JSON schema (the Prefect run form).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import ConfigDict

T = TypeVar("T")


def _describe(schema: dict[str, Any], cls: type) -> None:
    """pydantic's `json_schema_extra` hook: each property gets its field's help as description."""
    helps = {f.name: f.metadata.get("help") for f in dataclasses.fields(cls)}
    for name, prop in schema.get("properties", {}).items():
        if helps.get(name):
            prop.setdefault("description", helps[name])
    if cls.__doc__:
        schema["description"] = " ".join(cls.__doc__.split())


def config_part(cls: type[T]) -> type[T]:
    """Mark a dataclass as a config part: unknown keys are refused, help becomes description."""
    cls.__pydantic_config__ = ConfigDict(extra="forbid", json_schema_extra=_describe)  # type: ignore[attr-defined]
    return cls


def field_help(cls: type, name: str) -> str:
    """The help of a dataclass field (KeyError naming the field when there is none)."""
    for item in dataclasses.fields(cls):
        if item.name == name:
            if "help" not in item.metadata:
                raise KeyError(f"{cls.__name__}.{name} has no help")
            return item.metadata["help"]
    raise KeyError(f"{cls.__name__} has no field {name!r}")
