"""CLI options read off the dataclass that owns a setting, so its default and help live in one place."""

from __future__ import annotations

import dataclasses

import typer


def field_option(cls: type, name: str, flag: str) -> typer.models.OptionInfo:
    """An option for `cls`'s field `name`, with the field's default and `metadata["help"]`."""
    found = next((item for item in dataclasses.fields(cls) if item.name == name), None)
    if found is None:
        raise KeyError(f"{cls.__name__} has no field {name!r}")
    return typer.Option(found.default, flag, help=found.metadata.get("help"))
