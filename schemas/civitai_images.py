"""Civitai images and their generation metadata (`meta`), tolerant of drift (see schemas.civitai)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from schemas.civitai_base import _Tolerant, loose_float, loose_int, loose_str


class ImageMeta(_Tolerant):
    """Generation metadata. A1111 writes `Model hash`, `Clip skip`; today's API adds camelCase."""

    prompt: str | None = None
    negative_prompt: str | None = Field(None, alias="negativePrompt")
    sampler: str | None = None
    scheduler: str | None = None  # ComfyUI writes the scheduler separately from the sampler
    steps: int | None = None
    cfg_scale: float | None = Field(None, alias="cfgScale")
    seed: int | None = None
    size: str | None = Field(None, alias="Size")
    model: str | None = Field(None, alias="Model")
    model_hash: str | None = Field(None, alias="Model hash")
    clip_skip: int | None = Field(None, alias="Clip skip")  # camelCase `clipSkip` on today's API
    resources: list[dict[str, Any]] = Field(default_factory=list)
    civitai_resources: list[dict[str, Any]] = Field(default_factory=list, alias="civitaiResources")

    @field_validator(
        "prompt", "negative_prompt", "sampler", "scheduler", "size", "model", "model_hash", mode="before"
    )
    @classmethod
    def _string(cls, value: Any) -> str | None:
        return loose_str(value)

    @field_validator("steps", "seed", "clip_skip", mode="before")
    @classmethod
    def _integer(cls, value: Any) -> int | None:
        return loose_int(value)

    @field_validator("cfg_scale", mode="before")
    @classmethod
    def _float(cls, value: Any) -> float | None:
        return loose_float(value)

    @field_validator("resources", "civitai_resources", mode="before")
    @classmethod
    def _resource_list(cls, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            return []
        return [item for item in value if isinstance(item, dict)]

    @model_validator(mode="before")
    @classmethod
    def _hash_from_hashes(cls, data: Any) -> Any:
        # Newer A1111 writes the checkpoint hash only under `hashes.model`.
        if isinstance(data, dict) and data.get("Clip skip") is None and data.get("clipSkip") is not None:
            data = {**data, "Clip skip": data["clipSkip"]}
        if isinstance(data, dict) and not data.get("Model hash"):
            hashes = data.get("hashes")
            if isinstance(hashes, dict) and isinstance(hashes.get("model"), str):
                data = {**data, "Model hash": hashes["model"]}
        return data


def unwrap_meta(value: Any) -> dict[str, Any] | None:
    """`meta` as a plain dict: some look-ups wrap it as `{"id": ..., "meta": {...}}`."""
    if not isinstance(value, dict):
        return None
    inner = value.get("meta")
    if isinstance(inner, dict) and "prompt" not in value:
        return inner
    return value


class Image(_Tolerant):
    id: int | None = None
    url: str | None = None
    width: int | None = None
    height: int | None = None
    nsfw: bool | str | None = None
    nsfw_level: int | str | None = Field(None, alias="nsfwLevel")
    meta: ImageMeta | None = None
    model_version_id: int | None = Field(None, alias="modelVersionId")
    has_meta: bool | None = Field(None, alias="hasMeta")
    username: str | None = None  # who posted it: the model's creator or someone else

    @field_validator("username", mode="before")
    @classmethod
    def _username(cls, value: Any) -> str | None:
        return loose_str(value)

    @field_validator("id", "width", "height", "model_version_id", mode="before")
    @classmethod
    def _integer(cls, value: Any) -> int | None:
        return loose_int(value)

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, value: Any) -> Any:
        return unwrap_meta(value)

    @property
    def is_sfw(self) -> bool:
        """SFW only when every signal present says so (`nsfw` None/false, level None/1)."""
        nsfw_ok = self.nsfw in (None, False, "None", "false", "False")
        level = self.nsfw_level
        # Level names seen over time: None/Soft/Mature/X, PG/PG13/R/X/XXX, and bit values 1/2/4/8/16.
        level_ok = level in (None, "None", "PG", 1, "1", 0, "0")
        return nsfw_ok and level_ok
