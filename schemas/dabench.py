"""DABench rows: the Parquet contract between the data pipeline and everything downstream.

Each row type is one pydantic model; the Arrow schemas used to write and check Parquet files are
derived from them (`schemas.arrow.arrow_schema`), never written twice.
"""

from __future__ import annotations

import pyarrow as pa
from pydantic import BaseModel, Field, model_validator

from schemas.arrow import arrow_schema
from schemas.t2i import ARCHITECTURE_OF


class CatalogEntry(BaseModel):
    """One selectable model version. `model` is the unique string the agent names."""

    model: str
    model_id: int
    version_id: int
    type: str  # Checkpoint | LORA
    base_model: str  # a schemas.t2i.BASE_MODELS name (SD 1.5, SDXL 1.0, Pony, Flux.1 D, ...)
    model_description: str  # never empty: LLM-reconstructed or the offline fallback
    description_source: str  # llm | fallback
    trained_words: list[str]
    tags: list[str]
    model_name: str
    version_name: str
    download_count: int
    thumbs_up_count: int
    rating: float
    rating_count: int
    file_name: str
    sha256: str
    download_url: str
    sample_count: int  # instruction pairs made from this version's images
    published_at: str | None = None
    # The version's first SFW image on Civitai (the page's preview); absent in catalogs built before it.
    preview_url: str | None = None
    architecture: str = ""  # schemas.t2i.architecture_of(base_model): sd1 | sdxl | flux
    # Civitai's AutoV3 of the file (12 hex digits; "" when it lists none, or in older catalogs).
    autov3: str = ""

    @model_validator(mode="after")
    def _architecture_from_base_model(self) -> CatalogEntry:
        # Catalogs written before the column existed read back with it derived.
        if not self.architecture:
            self.architecture = ARCHITECTURE_OF.get(self.base_model, "")
        return self


class InstructionRow(BaseModel):
    """One instruction-API pair, made from one Civitai image."""

    image_id: int
    prompt: str
    negative_prompt: str
    model: str
    type: str
    base_model: str
    base_checkpoint: str | None
    width: int
    height: int
    sampling_method: str
    sampling_steps: int
    cfg_scale: float
    model_id: int
    version_id: int
    base_checkpoint_version_id: int | None
    seed: int | None
    clip_skip: int = 1  # the image's `Clip skip` (1 when its metadata has none)
    # Who posted the image: "creator" (the model's own sample), "community" (another user), or
    # "unknown" (no username on the image or the model).
    image_source: str = "unknown"
    # A LoRA image's own use of its LoRA, read before the tags were stripped from the prompt
    # (`diffagent.dabench.lora_usage`): its weight (None: the image does not say; A1111 then uses 1)
    # and the LoRA's trained words its prompt used.
    lora_weight: float | None = None
    trigger_words: list[str] = Field(default_factory=list)


class RejectRow(BaseModel):
    """A record that did not become a pair, with the stage and reason (`detail` names the value)."""

    image_id: int | None
    version_id: int | None
    model_id: int | None
    stage: str
    reason: str
    detail: str


class RawModelRow(BaseModel):
    """One model as `/models` returned it: the raw layer keeps the JSON untouched."""

    page_index: int
    model_id: int
    fetched_at: str
    raw_json: str


class RawImageRow(BaseModel):
    """One image as `/images?withMeta=true` returned it for a model version."""

    version_id: int
    page_index: int
    image_id: int | None
    fetched_at: str
    raw_json: str


class HashResolutionRow(BaseModel):
    """A by-hash look-up: the version a `Model hash` names, or `found=False`."""

    hash: str
    found: bool
    raw_json: str


CATALOG_SCHEMA: pa.Schema = arrow_schema(CatalogEntry)
INSTRUCTION_SCHEMA: pa.Schema = arrow_schema(InstructionRow)
REJECT_SCHEMA: pa.Schema = arrow_schema(RejectRow)
RAW_MODEL_SCHEMA: pa.Schema = arrow_schema(RawModelRow)
RAW_IMAGE_SCHEMA: pa.Schema = arrow_schema(RawImageRow)
HASH_RESOLUTION_SCHEMA: pa.Schema = arrow_schema(HashResolutionRow)

INSTRUCTION_COLUMNS: tuple[str, ...] = tuple(INSTRUCTION_SCHEMA.names)
CATALOG_COLUMNS: tuple[str, ...] = tuple(CATALOG_SCHEMA.names)
