"""The DABench contract checks, shared by the tests that build from different sources."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from diffagent.dabench.prompts import parse_size, strip_network_tags
from diffagent.dabench.samplers import normalise_sampler
from schemas.civitai import Image, Model
from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA, REJECT_SCHEMA
from schemas.t2i import ARCHITECTURE_OF, BASE_MODELS

TAG = re.compile(r"<\s*(?:lora|lyco)\s*:", re.IGNORECASE)


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / name)


def raw_parts(out: Path, kind: str) -> list[Path]:
    """Raw parquet files of the base crawl, then of each increment in order."""
    layers = [out, *sorted((out / "increments").glob("inc-*"))]
    return [part for layer in layers for part in sorted((layer / "raw" / kind).glob("*.parquet"))]


def crawled_images(out: Path) -> dict[int, tuple[int, Image]]:
    """image id -> (version id, parsed image) for every image the crawl stored."""
    images: dict[int, tuple[int, Image]] = {}
    for part in raw_parts(out, "images"):
        for row in pq.read_table(part).to_pylist():
            image = Image.model_validate_json(row["raw_json"])
            images.setdefault(image.id, (row["version_id"], image))
    return images


def crawled_models(out: Path) -> dict[int, Model]:
    models = {}
    for part in raw_parts(out, "models"):
        for row in pq.read_table(part).to_pylist():
            model = Model.model_validate_json(row["raw_json"])
            models[model.id] = model
    return models


def check_contract(out: Path) -> None:
    # Schemas: the files carry exactly the declared columns.
    assert pq.read_schema(out / "catalog.parquet").names == CATALOG_SCHEMA.names
    assert pq.read_schema(out / "instructions.parquet").names == INSTRUCTION_SCHEMA.names
    assert pq.read_schema(out / "rejects.parquet").names == REJECT_SCHEMA.names
    catalog, pairs, rejects = (
        read(out, "catalog.parquet"),
        read(out, "instructions.parquet"),
        read(out, "rejects.parquet"),
    )
    assert len(pairs) > 0
    assert catalog["model"].is_unique
    assert (catalog["model_description"].str.strip().str.len() > 0).all()
    assert set(catalog["type"]) <= {"Checkpoint", "LORA"} and set(catalog["base_model"]) <= set(BASE_MODELS)
    assert (catalog["architecture"] == catalog["base_model"].map(ARCHITECTURE_OF)).all()
    names = set(catalog["model"])
    by_name = catalog.set_index("model")
    assert set(pairs["model"]) <= names
    loras = pairs[pairs["type"] == "LORA"]
    assert set(loras["base_checkpoint"]) <= names
    assert (by_name.loc[loras["base_checkpoint"], "type"] == "Checkpoint").all()
    # A LoRA's base checkpoint shares its architecture (a Pony LoRA may name an SDXL checkpoint).
    assert (
        by_name.loc[loras["base_checkpoint"], "architecture"].to_numpy()
        == loras["base_model"].map(ARCHITECTURE_OF).to_numpy()
    ).all()
    assert pairs.loc[pairs["type"] == "Checkpoint", "base_checkpoint"].isna().all()
    assert not pairs["prompt"].str.contains(TAG).any()
    assert pairs["image_id"].is_unique

    # Every pair equals its image's metadata; every crawled image is a pair or a reject, not both.
    images, models = crawled_images(out), crawled_models(out)
    for row in pairs.itertuples():
        version_id, image = images[row.image_id]
        assert version_id == row.version_id and image.is_sfw
        meta = image.meta
        assert row.prompt == strip_network_tags(meta.prompt)
        assert (row.width, row.height) == parse_size(meta.size)
        assert row.sampling_steps == meta.steps and row.cfg_scale == meta.cfg_scale
        assert row.sampling_method == normalise_sampler(meta.sampler, meta.scheduler)
        model = models[row.model_id]
        assert not model.nsfw and model.type == row.type
    rejected = set(rejects["image_id"].dropna().astype(int))
    paired = set(pairs["image_id"])
    assert not rejected & paired
    assert set(images) == rejected | paired

    # An exact 8:1:1 partition of the pairs.
    splits = {name: read(out, f"splits/{name}.parquet") for name in ("sft", "rrhf", "eval")}
    n = len(pairs)
    assert [len(splits[s]) for s in ("sft", "rrhf", "eval")] == [n - 2 * (n // 10), n // 10, n // 10]
    ids = [set(frame["image_id"]) for frame in splits.values()]
    assert set.union(*ids) == paired and sum(map(len, ids)) == n


def pairs_signature(out: Path) -> str:
    """The build's pairs and catalog ids, order-independent, for equality across runs."""
    pairs = read(out, "instructions.parquet").sort_values("image_id").reset_index(drop=True)
    catalog = read(out, "catalog.parquet").sort_values("version_id")[["model", "version_id", "type"]]
    splits = {s: sorted(read(out, f"splits/{s}.parquet")["image_id"]) for s in ("sft", "rrhf", "eval")}
    return json.dumps([pairs.to_json(), catalog.to_json(), splits], sort_keys=True)
