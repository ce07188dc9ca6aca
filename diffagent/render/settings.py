"""Renderer settings (environment `DIFFAGENT_*` or parameters).

Every published base model's source in `schemas.architectures` (`BaseSource.setting`, e.g. `sd15`,
`flux_schnell`) gives two fields, so adding an architecture adds its settings:
- `<setting>_config` (DIFFAGENT_<SETTING>_CONFIG): the diffusers folder or hub id single-file
  checkpoints of that base model load with; default the base model's hub id.
- `<setting>_base` (DIFFAGENT_<SETTING>_BASE): the base model a default API (version_id
  BASE_MODEL_VERSION_ID) renders, a diffusers folder or hub id; None renders the config folder.
"""

from __future__ import annotations

from pydantic import create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.architectures import BASE_MODELS, SOURCES, base_setting, config_setting


class _RenderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIFFAGENT_", env_file=".env", extra="ignore")

    # On GPU: float16, bfloat16 or float32; None takes each architecture's (schemas.architectures:
    # float16 for SD, bfloat16 for Flux). CPU always renders in float32.
    render_dtype: str | None = None
    max_pipelines: int = 2  # pipelines kept loaded, one per checkpoint
    lora_scale: float = 1.0
    artifact_root: str | None = None  # local path or fsspec URL of the render cache
    render_device: str | None = None  # None: cuda when available, else cpu
    # CPU smoke runs only: render every API at this square side / at most these steps. None (the
    # default) renders width, height and steps exactly as the API gives them.
    render_size: int | None = None
    render_max_steps: int | None = None

    def config_sources(self) -> dict[str, str]:
        """{base model name: the diffusers folder or hub id its single-file checkpoints load with}:
        Pony's is SDXL 1.0's, Flux.1 S's is FLUX.1-schnell's (no guidance embedding), not dev's."""
        return {name: getattr(self, config_setting(name)) for name in BASE_MODELS}

    def base_sources(self) -> dict[str, str]:
        """{base model name: diffusers folder or hub id of its base model}: the `_base` setting, else
        the config folder. Pony and Illustrious render SDXL 1.0's; Flux.1 S FLUX.1-schnell."""
        configs = self.config_sources()
        return {name: getattr(self, base_setting(name)) or configs[name] for name in BASE_MODELS}


_SOURCE_FIELDS: dict = {}
for _source in SOURCES:
    _SOURCE_FIELDS[f"{_source.setting}_config"] = (str, _source.hub_id)
    _SOURCE_FIELDS[f"{_source.setting}_base"] = (str | None, None)
RenderSettings = create_model(
    "RenderSettings", __base__=_RenderSettings, __module__=__name__, **_SOURCE_FIELDS
)


# `--profile tiny`: the tiny pipelines make 64x64 images and more steps only cost CPU time, so every
# API renders at this side with at most this many steps (the render cache keys on what was
# rendered); tiny pipelines are a few MB, so many stay loaded instead of reloading per model.
TINY_RENDER_SIZE, TINY_RENDER_MAX_STEPS, TINY_MAX_PIPELINES = 64, 2, 16


def tiny_render_settings(**overrides) -> RenderSettings:
    """The tiny profile's settings: capped size and steps, many pipelines kept loaded."""
    fields = {
        "render_size": TINY_RENDER_SIZE,
        "render_max_steps": TINY_RENDER_MAX_STEPS,
        "max_pipelines": TINY_MAX_PIPELINES,
        **overrides,
    }
    return RenderSettings(**fields)
