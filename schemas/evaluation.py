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
    reference_model: str | None = None  # DABench: the model that made the source image


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
    latency_s: float
    raw: str  # the answer as the selector gave it (JSON text)


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
SCORE_SCHEMA: pa.Schema = arrow_schema(ScoreRow)
EVAL_PROMPT_SCHEMA: pa.Schema = arrow_schema(EvalPrompt)
