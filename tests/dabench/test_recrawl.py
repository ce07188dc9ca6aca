"""Incremental recrawl: a source that gained models adds their pairs and keeps everything before."""

from __future__ import annotations

import json

from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.sample import build_sample, renumbered
from diffagent.civitai.source import CivitaiSource
from diffagent.dabench.crawl import CrawlParams
from diffagent.storage import ArtifactStore
from tests.dabench.conftest import build as build_stages
from tests.dabench.contract import check_contract, read


def build(store, url, incremental):
    results = build_stages(store, url, params=CrawlParams(models_page_size=5), incremental=incremental)
    return results["crawl"], results["split"]


def test_recrawl_adds_new_models_and_keeps_everything(tmp_path):
    store = ArtifactStore(str(tmp_path))
    models, index = build_sample()
    source = CivitaiSource(models, index)
    with CivitaiServer(source) as server:
        build(store, server.url, incremental=False)
        first_pairs = read(tmp_path, "instructions.parquet")
        first_splits = {
            s: set(read(tmp_path, f"splits/{s}.parquet")["image_id"]) for s in ("sft", "rrhf", "eval")
        }
        first_catalog = (tmp_path / "catalog.parquet").read_bytes()

        # Nothing new yet: the recrawl reads one newest-first page and stops.
        before = dict(server.stats.requests)
        crawl, split = build(store, server.url, incremental=True)
        assert server.stats.requests["images"] == before["images"]
        assert server.stats.requests["models"] == before["models"] + 1
        assert split["cached"]

        # Six models are published, newer than all others.
        source.add_models(renumbered(models[:6], 5000))
        before = dict(server.stats.requests)
        crawl, split = build(store, server.url, incremental=True)
        new_images = server.stats.requests["images"] - before["images"]
    new_versions = sum(len(m["modelVersions"]) for m in models[:6])
    assert new_images == new_versions  # only the new versions' images were fetched (one page each)
    assert crawl["counts"]["versions"] == new_versions

    pairs = read(tmp_path, "instructions.parquet")
    assert set(first_pairs["image_id"]) < set(pairs["image_id"])
    new_ids = set(pairs["image_id"]) - set(first_pairs["image_id"])
    assert all(image_id > 5000 * 1000 for image_id in new_ids) and len(new_ids) > 40
    check_contract(tmp_path)
    # Earlier pairs keep their split; versions are kept and `latest` points at the newest.
    for name, ids in first_splits.items():
        assert ids <= set(read(tmp_path, f"splits/{name}.parquet")["image_id"])
    assert json.loads((tmp_path / "latest.json").read_text())["version"] == "v0002"
    assert (tmp_path / "versions" / "v0001" / "catalog.parquet").read_bytes() == first_catalog
    old = read(tmp_path / "versions" / "v0001", "instructions.parquet")
    assert old.equals(first_pairs)
    assert (tmp_path / "increments" / "inc-0002" / "raw" / "state.json").exists()
    assert (tmp_path / "raw" / "state.json").exists()
