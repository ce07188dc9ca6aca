"""CLI options generated from a flow config's fields: one definition for the flow, the run form
and the command line.

`config_options(Config, {"--k": "rollout.k", ...})` decorates a typer command: it adds one option
per flag, typed, with the field's help and its defaults (the field's and each shipped profile's);
an option left out means "not given", so the profile's value or the field's default applies. It
also adds `--config FILE` (a YAML/JSON mapping of config fields) and `--set PATH=VALUE` (any
field, e.g. `--set sft.lora_r=8`), and hands the command `overrides`: the given values, nested.
Precedence: field default < profile < --config file < options < --set.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import BaseModel

from diffagent.config.profiles import deep_merge, nested, profile_names, profile_section


def config_field(model: type[BaseModel], path: str) -> tuple[Any, str, Any]:
    """(type, help, default) of the field at dotted `path` (through pydantic models and dataclasses)."""
    owner: Any = model
    *parents, leaf = path.split(".")
    for name in [*parents, leaf]:
        if isinstance(owner, type) and issubclass(owner, BaseModel):
            if name not in owner.model_fields:
                raise KeyError(f"{owner.__name__} has no field {name!r} (in {path!r})")
            info = owner.model_fields[name]
            kind, help_text = info.annotation, info.description or ""
            # A required field has no default: None here (the config refuses it when missing).
            default = None if info.is_required() else info.get_default(call_default_factory=True)
        elif dataclasses.is_dataclass(owner):
            fields = {f.name: f for f in dataclasses.fields(owner)}
            if name not in fields:
                raise KeyError(f"{owner.__name__} has no field {name!r} (in {path!r})")
            kind = typing.get_type_hints(owner)[name]
            help_text = fields[name].metadata.get("help", "")
            default = fields[name].default
        else:
            raise KeyError(f"{path!r}: {name!r} is not inside a config part")
        owner = kind
    return kind, help_text, default


def _lookup(values: dict[str, Any], path: str) -> Any:
    for name in path.split("."):
        if not isinstance(values, dict) or name not in values:
            return None
        values = values[name]
    return values


def option_help(model: type[BaseModel], path: str) -> str:
    """The field's help with its default and what each shipped profile sets instead."""
    _, help_text, default = config_field(model, path)
    notes = [] if default is None else [f"default {default}"]
    for profile in profile_names():
        value = _lookup(profile_section(profile, model.flow), path)  # type: ignore[attr-defined]
        if value is not None and value != default:
            notes.append(f"{profile} profile {value}")
    return f"{help_text} ({'; '.join(notes)})" if notes else help_text


def _parameter(model: type[BaseModel], flag: str, path: str) -> inspect.Parameter:
    kind, _, _ = config_field(model, path)
    name = flag.lstrip("-").replace("-", "_")
    option = typer.Option(None, flag, help=option_help(model, path), show_default=False)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind | None)


def parse_sets(values: list[str] | None) -> dict[str, Any]:
    """`--set PATH=VALUE` pairs as a nested mapping (each VALUE read as YAML: 3, true, [1, 2])."""
    dotted = {}
    for item in values or []:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise typer.BadParameter(f"--set {item!r}: expected PATH=VALUE, e.g. sft.max_steps=40")
        dotted[path.strip()] = yaml.safe_load(text)
    return nested(dotted)


def read_config_file(file: Path | None) -> dict[str, Any]:
    """The mapping of a `--config` YAML or JSON file (empty without one)."""
    if file is None:
        return {}
    if not file.is_file():
        raise typer.BadParameter(f"--config {file}: no such file")
    content = yaml.safe_load(file.read_text()) or {}
    if not isinstance(content, dict):
        raise typer.BadParameter(f"--config {file}: expected a mapping of config fields")
    return content


def config_options(model: type[BaseModel], flags: dict[str, str]) -> Callable[[Callable], Callable]:
    """Decorate a typer command whose last parameter is `overrides: dict`: see the module doc."""

    def decorate(command: Callable) -> Callable:
        signature = inspect.signature(command)
        kept = [p for p in signature.parameters.values() if p.name != "overrides"]
        added = [_parameter(model, flag, path) for flag, path in flags.items()]
        names = {p.name: path for p, path in zip(added, flags.values(), strict=True)}
        config_file = inspect.Parameter(
            "config_file",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(None, "--config", help="YAML or JSON file of config fields."),
            annotation=Path | None,
        )
        sets = inspect.Parameter(
            "set_values",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(None, "--set", help="PATH=VALUE for any config field (repeatable)."),
            annotation=list[str] | None,
        )

        @functools.wraps(command)
        def wrapper(**values: Any) -> Any:
            given = {names[n]: values.pop(n) for n in names if values.get(n) is not None}
            for n in names:
                values.pop(n, None)
            overrides = read_config_file(values.pop("config_file"))
            overrides = deep_merge(overrides, nested(given))
            overrides = deep_merge(overrides, parse_sets(values.pop("set_values")))
            return command(overrides=overrides, **values)

        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*kept, *added, config_file, sets]
        )
        return wrapper

    return decorate


def validated(model: type[BaseModel], values: dict[str, Any], context: dict[str, Any] | None = None) -> Any:
    """`model` from `values`, a pydantic error turned into one CLI line naming the bad field."""
    from pydantic import ValidationError

    try:
        return model.model_validate(values, context=context)
    except ValidationError as error:
        problems = "; ".join(_problem(item) for item in error.errors())
        raise typer.BadParameter(problems) from None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def _problem(item: Any) -> str:
    """One pydantic error as `field=value: message` (the whole config's errors as `config: ...`)."""
    location = ".".join(str(p) for p in item["loc"])
    if not location:
        return f"config: {item['msg']}"
    shown = "" if item["type"] in ("missing", "unexpected_keyword_argument") else f"={item['input']!r}"
    return f"{location}{shown}: {item['msg']}"
