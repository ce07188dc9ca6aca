"""Renderer settings (environment `DIFFAGENT_*` or parameters)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class RenderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIFFAGENT_", env_file=".env", extra="ignore")

    # Diffusers folders (hub id or local path) whose configs a single-file checkpoint is loaded with.
    sd15_config: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    sdxl_config: str = "stabilityai/stable-diffusion-xl-base-1.0"
    render_dtype: str = "float16"  # on GPU: float16 or bfloat16; CPU always renders in float32
    max_pipelines: int = 2  # pipelines kept loaded, one per checkpoint
    lora_scale: float = 1.0
    artifact_root: str | None = None  # local path or fsspec URL of the render cache
    render_device: str | None = None  # None: cuda when available, else cpu
    # CPU smoke runs only: render every API at this square side / at most these steps. None (the
    # default) renders width, height and steps exactly as the API gives them.
    render_size: int | None = None
    render_max_steps: int | None = None
