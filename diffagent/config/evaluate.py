"""`EvaluateConfig`: every setting of the evaluate flow."""

from __future__ import annotations

from pydantic import Field, field_validator

from diffagent.config.flows import FlowConfig
from diffagent.evaluate.systems import SYSTEMS


class EvaluateConfig(FlowConfig):
    """Table 1 (hallucination), Table 2 (unified score), Table 3 (selection) and latency."""

    flow = "evaluate"

    data: str = Field(description="DABench folder or URL (catalog.parquet, splits/eval.parquet).")
    agents: str = Field(description="`diffagent train sfta` run folder or URL (sft/, rrhf/).")
    out: str = Field(description="Output folder or URL: scores.parquet, report.md, plots, study/.")
    coco: str | None = Field(None, description="COCO captions JSON: a path or an fsspec/http(s) URL.")
    parti: str | None = Field(None, description="PartiPrompts TSV: a path or an fsspec/http(s) URL.")
    n: int | None = Field(1000, description="Prompts sampled per data set (DABench: per architecture).")
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], description="Render seeds per prompt.")
    seed: int = Field(0, description="Seed for sampling prompts, bootstrap and the sheet's order.")
    architectures: list[str] = Field(
        default_factory=lambda: ["SD 1.5", "SDXL 1.0"], description="Base models evaluated."
    )
    systems: list[str] = Field(
        default_factory=lambda: list(SYSTEMS), description="Systems compared (default: all; baseline needed)."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible URL for prompt expansion (null: DIFFAGENT_LLM_BASE_URL)."
    )
    llm_model: str | None = Field(None, description="Model for prompt expansion (null: DIFFAGENT_LLM_MODEL).")
    expansion_cache: str | None = Field(
        None, description="Folder of cached prompt expansions (null: under the cache directory)."
    )
    batch_size: int = Field(1, ge=1, description="Prompts per selection call (1: the paper's latency).")
    size: int | None = Field(None, description="Image side for every system (null: per architecture).")
    base_models: dict[str, str] | None = Field(
        None, description="Civitai base model -> base checkpoint name of the default API."
    )
    study_pairs: int = Field(90, description="User-study pairs per architecture.")
    refresh_cache: bool = Field(False, description="Select and render again even when nothing changed.")

    @field_validator("systems")
    @classmethod
    def _known_systems(cls, value: list[str]) -> list[str]:
        if unknown := [s for s in value if s not in SYSTEMS]:
            raise ValueError(f"unknown systems {unknown}; expected some of {list(SYSTEMS)}")
        if "baseline" not in value:
            raise ValueError("systems must include 'baseline': every comparison is against it")
        return value

    @field_validator("seeds")
    @classmethod
    def _some_seeds(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("seeds must name at least one render seed")
        return value
