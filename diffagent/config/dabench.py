"""`DabenchBuildConfig`: every setting of the dabench-build flow."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from diffagent.civitai.client import RetryPolicy
from diffagent.config.flows import FlowConfig
from diffagent.config.parts import config_part
from diffagent.dabench.crawl import CrawlParams
from diffagent.dabench.quality import QualityThresholds
from schemas.t2i import BASE_MODELS, MODEL_TYPES

config_part(QualityThresholds)
config_part(RetryPolicy)


class DabenchBuildConfig(FlowConfig):
    """Crawl Civitai -> filter -> reconstruct descriptions -> split 8:1:1 (paper section 3.1)."""

    flow = "dabench-build"

    out: str = Field(description="Output folder or fsspec URL (s3://...).")
    civitai_url: str = Field("https://civitai.com/api/v1", description="Civitai API base URL.")
    max_models: int | None = Field(None, description="Take the first N models in a stable order.")
    max_images_per_version: int | None = Field(
        CrawlParams.max_images_per_version,
        ge=1,
        description="Images with a prompt taken per model version, most-reacted first, by its creator "
        "and by others (null: every image; a popular checkpoint has hundreds of thousands).",
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible base URL for descriptions (null: the offline builder)."
    )
    llm_model: str | None = Field(None, description="LLM model name for descriptions.")
    types: list[str] = Field(default_factory=lambda: list(MODEL_TYPES), description="Civitai model types.")
    base_models: list[str] = Field(
        default_factory=lambda: list(BASE_MODELS),
        description="Civitai base models (default: every supported one).",
    )
    quality: QualityThresholds = Field(default_factory=QualityThresholds, description="The quality filter.")
    split_seed: int = Field(0, description="Seed of the 8:1:1 split.")
    concurrency: int = Field(8, description="Concurrent Civitai requests.")
    timeout: float = Field(30.0, description="Seconds before a Civitai request is retried.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy, description="Retries of Civitai requests.")
    civitai_key_block: str | None = Field(
        None, description="Prefect Secret block holding the Civitai key (when CIVITAI_API_KEY is not set)."
    )
    incremental: bool = Field(
        False, description="Recrawl what is new since the last build into a new dataset version."
    )
    show_progress: bool = Field(True, description="Progress bars (quiet when not on a terminal).")
    refresh_cache: bool = Field(
        False, description="Recompute every stage even when its inputs are unchanged."
    )
    task_runner: str | dict[str, Any] | None = Field(
        None, description="Run filter and describe shards on thread, process, dask, or a TaskRunnerSpec."
    )
    shards: int | None = Field(
        None, ge=1, description="Shards of filter and describe (default: one per runner worker)."
    )

    @field_validator("base_models")
    @classmethod
    def _known_base_models(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in BASE_MODELS]
        if unknown or not value:
            raise ValueError(f"unknown base models {unknown}; supported {list(BASE_MODELS)}")
        return value

    @model_validator(mode="after")
    def _llm_pair(self) -> DabenchBuildConfig:
        if bool(self.llm_base_url) != bool(self.llm_model):
            raise ValueError("llm_base_url and llm_model go together")
        return self
