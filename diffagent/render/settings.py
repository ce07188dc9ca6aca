"""Renderer settings (environment `DIFFAGENT_*` or parameters)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.t2i import BASE_MODELS, architecture_of


class RenderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIFFAGENT_", env_file=".env", extra="ignore")

    # Diffusers folders (hub id or local path) whose configs a single-file checkpoint is loaded with.
    sd15_config: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    sdxl_config: str = "stabilityai/stable-diffusion-xl-base-1.0"
    flux_config: str = "black-forest-labs/FLUX.1-dev"
    # The base model of each architecture (what a default API with version_id BASE_MODEL_VERSION_ID
    # renders): a diffusers folder or hub id; None uses the config folder above.
    sd15_base: str | None = None
    sdxl_base: str | None = None
    flux_base: str | None = None
    # On GPU: float16, bfloat16 or float32; None takes each architecture's (render.architectures.
    # GPU_DTYPES: float16 for SD, bfloat16 for Flux). CPU always renders in float32.
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
        """{architecture: the diffusers folder or hub id single-file checkpoints load with}."""
        return {"sd1": self.sd15_config, "sdxl": self.sdxl_config, "flux": self.flux_config}

    def base_sources(self) -> dict[str, str]:
        """{base model name: diffusers folder or hub id of its architecture's base model}: Pony
        and Illustrious APIs that name the base model render SDXL's, Flux.1 S Flux's."""
        bases = {"sd1": self.sd15_base, "sdxl": self.sdxl_base, "flux": self.flux_base}
        configs = self.config_sources()
        return {name: bases[architecture_of(name)] or configs[architecture_of(name)] for name in BASE_MODELS}


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
