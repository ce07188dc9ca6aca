"""Profiles: named sets of settings, one YAML file each, read by the CLI (`--profile tiny`), by
the flows (a config's `profile` field) and so by `prefect.yaml`'s deployments, which name a
profile instead of copying its values.

A profile file holds `weights` (which models render, score and stand in for the LLM: `default`,
real weights; `tiny`, the tiny random-weight models made on first use) and one section per flow
(`dabench-build`, `sftA-train`, `evaluate`) with values of that flow's config. A value set
explicitly (CLI option, deployment parameter, config file) wins over the profile's, which wins
over the field's default. `--profile` also takes the path of a YAML file of the same shape.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

WEIGHTS = ("default", "tiny")
FLOWS = ("dabench-build", "sftA-train", "evaluate")


def profile_names() -> list[str]:
    """The profiles shipped with the package (diffagent/data/profiles/*.yaml)."""
    folder = resources.files("diffagent") / "data" / "profiles"
    return sorted(item.name.removesuffix(".yaml") for item in folder.iterdir() if item.name.endswith(".yaml"))


@functools.cache
def load_profile(profile: str) -> dict[str, Any]:
    """A profile's content, checked: a shipped name or a YAML file's path."""
    if profile.endswith((".yaml", ".yml")):
        path = Path(profile).expanduser()
        if not path.is_file():
            raise ValueError(f"profile file {profile!r} does not exist")
        text = path.read_text()
    else:
        if profile not in profile_names():
            raise ValueError(
                f"unknown profile {profile!r}; expected one of {profile_names()} or a .yaml file"
            )
        text = (resources.files("diffagent") / "data" / "profiles" / f"{profile}.yaml").read_text()
    content = yaml.safe_load(text) or {}
    if not isinstance(content, dict):
        raise ValueError(f"profile {profile!r} is not a mapping")
    unknown = sorted(set(content) - {"weights", *FLOWS})
    if unknown:
        raise ValueError(f"profile {profile!r} has unknown sections {unknown}; expected weights, {FLOWS}")
    if content.get("weights", "default") not in WEIGHTS:
        raise ValueError(f"profile {profile!r}: weights {content['weights']!r} is not one of {WEIGHTS}")
    return content


def profile_weights(profile: str) -> str:
    """`default` or `tiny`: which models the profile renders, scores and trains with."""
    return load_profile(profile).get("weights", "default")


def profile_section(profile: str, flow: str) -> dict[str, Any]:
    """The values a profile sets for `flow` (a deep copy: callers may change it)."""
    section = load_profile(profile).get(flow) or {}
    return yaml.safe_load(yaml.safe_dump(section))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`base` with `over`'s values on top; nested mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def nested(dotted: dict[str, Any]) -> dict[str, Any]:
    """{"sft.max_steps": 4} -> {"sft": {"max_steps": 4}}."""
    result: dict[str, Any] = {}
    for path, value in dotted.items():
        *parents, leaf = path.split(".")
        target = result
        for name in parents:
            target = target.setdefault(name, {})
        target[leaf] = value
    return result
