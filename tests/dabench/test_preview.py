"""The catalog keeps each version's first SFW image as its preview; old catalogs still load."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq

from diffagent.catalog import load_catalog
from diffagent.dabench.catalog import preview_url
from schemas.civitai import ModelVersion
from schemas.dabench import CATALOG_SCHEMA
from tests.agent.conftest import catalog_entries


def test_preview_is_the_first_sfw_image_with_a_url():
    version = ModelVersion.model_validate(
        {
            "id": 1,
            "images": [
                {"url": "https://img/nsfw.jpeg", "nsfw": "X"},
                {"url": None, "nsfw": "None"},
                {"url": "https://img/level4.jpeg", "nsfwLevel": 4},
                {"url": "https://img/sfw.jpeg", "nsfw": "None", "nsfwLevel": 1},
                {"url": "https://img/later.jpeg"},
            ],
        }
    )
    assert preview_url(version) == "https://img/sfw.jpeg"
    assert preview_url(ModelVersion.model_validate({"id": 2, "images": []})) is None


def test_built_catalog_has_previews(sample_build):
    out, _ = sample_build
    table = pq.read_table(out / "catalog.parquet")
    assert table.schema.field("preview_url").type == pa.string()
    previews = table.column("preview_url").to_pylist()
    assert any(p and p.startswith("http") for p in previews)


def test_catalog_without_the_preview_column_loads(tmp_path):
    rows = [e.model_dump(exclude={"preview_url"}) for e in catalog_entries()]
    schema = pa.schema([f for f in CATALOG_SCHEMA if f.name != "preview_url"])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "catalog.parquet")
    catalog = load_catalog(tmp_path / "catalog.parquet")
    assert len(catalog) == len(rows) and catalog.entries[0].get("preview_url") is None


def test_built_catalog_keeps_each_files_autov3(sample_build):
    """Civitai lists AutoV3 (12 hex digits) among a file's hashes: the catalog keeps it for
    `Lora hashes`; every LoRA of the sample lists one."""
    out, _ = sample_build
    loras = [row for row in pq.read_table(out / "catalog.parquet").to_pylist() if row["type"] == "LORA"]
    assert loras and all(re.fullmatch(r"[0-9A-F]{12}", row["autov3"]) for row in loras)


def test_catalog_without_the_autov3_column_loads(tmp_path):
    rows = [e.model_dump(exclude={"autov3"}) for e in catalog_entries()]
    schema = pa.schema([f for f in CATALOG_SCHEMA if f.name != "autov3"])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "catalog.parquet")
    catalog = load_catalog(tmp_path / "catalog.parquet")
    assert len(catalog) == len(rows) and not catalog.entries[0].get("autov3")
