"""`SftaTrainConfig`: every setting of the sftA-train flow, composed of its stages' parts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, ValidationInfo, model_validator

from diffagent.agent.sft import SFTParams
from diffagent.config.flows import FlowConfig
from diffagent.config.parts import config_part
from diffagent.retriever.config import RetrieverConfig
from diffagent.rrhf.candidates import CandidateParams
from diffagent.rrhf.train import RRHFParams


def _subset(value: Any, cls: type) -> Any:
    """The `cls` fields of a settings dataclass that extends `cls`."""
    return cls(**{f.name: getattr(value, f.name) for f in dataclasses.fields(cls)})


@config_part
@dataclass
class SFTSettings(SFTParams):
    """Supervised fine-tuning (paper Eq. 1)."""

    full: bool = field(default=False, metadata={"help": "Fine-tune every weight instead of a LoRA adapter."})

    def params(self) -> SFTParams:
        return _subset(self, SFTParams)


@config_part
@dataclass
class CandidatesSettings(CandidateParams):
    """The SFT agent's own answers to the rrhf prompts, reconstructed into RRHF's responses."""

    max_prompts: int | None = field(default=None, metadata={"help": "Use only the first N rrhf prompts."})
    min_responses: int = field(
        default=3, metadata={"help": "Fill each prompt up to this many responses with constrained answers."}
    )
    base_models: dict[str, str] | None = field(
        default=None, metadata={"help": "Civitai base model -> base checkpoint name used in reconstruction."}
    )

    def params(self) -> CandidateParams:
        return _subset(self, CandidateParams)


@config_part
@dataclass
class RolloutSettings:
    """The reward rollout: each response rendered k times and scored (paper Eq. 6)."""

    k: int = field(default=10, metadata={"help": "Renders per response."})
    batch_size: int = field(default=4, metadata={"help": "Prompts per rollout batch (one part file each)."})
    base_seed: int = field(default=0, metadata={"help": "First render seed."})
    models: dict[str, Any] | None = field(
        default=None,
        metadata={
            "help": "Overrides of the rollout models: device, artifact_root, store_dir, render "
            "(RenderSettings fields), scorers (metric -> scorer folder); null: the profile's."
        },
    )


@config_part
@dataclass
class RetrieverSettings(RetrieverConfig):
    """The trained retriever (RUN/retriever): the retrieval selector and the hybrid's shortlist."""

    base_embedder: str | None = field(
        default=None, metadata={"help": "Hub id or folder of the sentence encoder (null: all-MiniLM-L6-v2)."}
    )

    def config(self) -> RetrieverConfig:
        return _subset(self, RetrieverConfig)


config_part(RRHFParams)


class SftaTrainConfig(FlowConfig):
    """Train DiffAgent-SFT then DiffAgent-RRHF (paper section 3.2) into a run folder."""

    flow = "sftA-train"

    data: str = Field(description="DABench folder or URL (catalog.parquet, splits/).")
    out: str = Field(description="Run folder or URL: retriever/, sft/, rrhf/, rollouts.parquet.")
    base_model: str | None = Field(
        None, description="Hub id or folder of the base LLM (tiny weights: the tiny LLM when unset)."
    )
    sft: SFTSettings = Field(default_factory=SFTSettings, description="SFT (paper Eq. 1).")
    candidates: CandidatesSettings = Field(default_factory=CandidatesSettings, description="RRHF candidates.")
    rollout: RolloutSettings = Field(default_factory=RolloutSettings, description="Reward rollouts.")
    rrhf: RRHFParams = Field(default_factory=RRHFParams, description="RRHF (paper Eq. 8-10).")
    retriever: RetrieverSettings = Field(default_factory=RetrieverSettings, description="The retriever.")
    work_pool: str | None = Field(
        None, description="Prefect work pool for the GPU stages and rollouts (e.g. cuda); null: here."
    )
    jobs_per_run: int = Field(
        8, description="Rollout batches one work-pool run (or task-runner task) carries."
    )
    task_runner: str | dict[str, Any] | None = Field(
        None, description="Run rollout batches on a task runner: thread, process, dask, or a TaskRunnerSpec."
    )
    workers: int = Field(0, description="Rollout process-pool size (0: in this process).")
    image_costs: dict[str, float] | None = Field(
        None, description="Measured seconds (render_s, score_s, load_s): the plan's GPU hours."
    )
    refresh_cache: bool = Field(
        False, description="Recompute every stage even when its inputs are unchanged."
    )

    @model_validator(mode="after")
    def _needs_a_base_model(self, info: ValidationInfo) -> SftaTrainConfig:
        # A plan (`train sfta --plan`) counts the rollout only: no model is loaded.
        planning = bool(info.context and info.context.get("plan"))
        if self.base_model is None and self.weights != "tiny" and not planning:
            raise ValueError(f"base_model is required with profile {self.profile!r} (only tiny has one)")
        return self
