"""Evaluation rows: the prompts evaluated, the agents' answers, and one score row per image.

`scores.parquet` and `answers.parquet` are written with the Arrow schemas derived here, so the
report, the plots and anyone reading the files agree on one definition.
"""

from __future__ import annotations

import pyarrow as pa
from pydantic import BaseModel

from schemas.arrow import arrow_schema

DATASETS: tuple[str, ...] = ("dabench", "coco", "parti")
DATASET_TITLES: dict[str, str] = {"dabench": "DABench", "coco": "COCO Caption", "parti": "Parti Prompts"}


class EvalPrompt(BaseModel):
    """One prompt of an evaluation set, before and after LLM expansion."""

    dataset: str  # dabench | coco | parti
    prompt_id: str  # unique within the dataset
    source_prompt: str  # as the data set gives it
    prompt: str  # what the systems see: expanded, or the source prompt unchanged
    negative_prompt: str = ""
    expanded: bool = False
    category: str | None = None  # PartiPrompts Category
    challenge: str | None = None  # PartiPrompts Challenge
    base_model: str | None = None  # DABench rows belong to one architecture; None: any
    # DABench: the source image's model and settings, the truth of the selection metrics.
    reference_model: str | None = None  # the model that made the source image
    reference_type: str | None = None  # Checkpoint | LORA
    reference_in_sft: bool | None = None  # the model has sft samples (None: no sft split to tell)
    reference_width: int | None = None
    reference_height: int | None = None
    reference_sampler: str | None = None
    reference_steps: int | None = None
    reference_cfg: float | None = None


class AnswerRow(BaseModel):
    """One selector's answer to one prompt, checked against the catalog (Table 1's unit)."""

    architecture: str  # SD 1.5 | SDXL 1.0
    dataset: str
    prompt_id: str
    selector: str  # sft | rrhf | retrieval | hybrid
    constrained: bool
    model: str | None  # what the answer names; None when it names nothing readable
    hallucinated: bool
    reason: str  # "" when valid; else unparseable | unknown_model | unknown_base_checkpoint | ...
    params_fixed: bool  # an invalid parameter was replaced by the default
    latency_s: float  # this prompt's selection time, warm (see cold_start_s)
    raw: str  # the answer as the selector gave it (JSON text)
    # The selector's first call (index build, retriever load, first model call), timed apart from
    # every prompt's latency_s; the same on each row of one selector.
    cold_start_s: float = 0.0
    # Models of the selector's ranked candidates, best first; None when it gives one answer.
    ranked: list[str] | None = None


class SelectionRow(BaseModel):
    """One selector's selection figures on one group of DABench prompts (shares of prompts)."""

    architecture: str
    selector: str
    constrained: bool
    label: str  # the selector's column title in Table 1
    group: str  # all | seen | unseen (the model in the sft split or not) | Checkpoint | LORA
    prompts: int
    top1: float  # the image's own model answered first
    top5: float | None  # among the first five ranked candidates; None: the selector ranks none
    sampler: float  # the top-1 answer's sampler is the image's
    steps: float  # within 5 steps
    cfg: float  # within 1 CFG
    size: float  # the same width and height


class ScoreRow(BaseModel):
    """One rendered image of one system for one prompt and seed, with every score."""

    architecture: str
    dataset: str
    prompt_id: str
    prompt: str
    system: str  # baseline | baseline_star | diffagent_sharp | diffagent_sft | ...
    seed: int
    model: str  # the model actually rendered (the base model after a fallback)
    version_id: int
    sampling_method: str
    sampling_steps: int
    cfg_scale: float
    width: int
    height: int
    fallback: bool  # the answer hallucinated, so the baseline was rendered instead
    clip_score: float
    image_reward: float
    hps_v2: float
    unified: float  # this image's unified metric, normalised over the prompt's group
    latency_s: float  # the selection latency of the answer behind this image (0 for Baseline)
    image_path: str


ANSWER_SCHEMA: pa.Schema = arrow_schema(AnswerRow)
SELECTION_SCHEMA: pa.Schema = arrow_schema(SelectionRow)
SCORE_SCHEMA: pa.Schema = arrow_schema(ScoreRow)
EVAL_PROMPT_SCHEMA: pa.Schema = arrow_schema(EvalPrompt)
