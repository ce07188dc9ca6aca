"""The build on the bundled sample and on real 2023 Civitai responses, checked against the contract."""

from __future__ import annotations

import pandas as pd

from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.sample_plan import FLUX_SAMPLERS
from diffagent.dabench.crawl import CrawlParams
from diffagent.storage import ArtifactStore
from tests.dabench.conftest import build
from tests.dabench.contract import check_contract, read


def test_sample_build_meets_the_contract(sample_build):
    out, results = sample_build
    check_contract(out)
    assert results["split"]["counts"]["instructions"] == len(read(out, "instructions.parquet"))


def test_malformed_records_end_as_rejects(sample_build):
    out, _ = sample_build
    reasons = set(read(out, "rejects.parquet")["reason"])
    # meta null, Size "512x", missing sampler, NSFW model and image, pickle-only version,
    # quality, unresolvable LoRA base, a prompt that was only a LoRA tag, a base model out of scope
    # (SD 2.1 768: schemas.base_models names why).
    expected = {
        "missing_meta",
        "invalid_size",
        "missing_sampler",
        "nsfw_model",
        "nsfw_image",
        "no_safetensors",
        "low_downloads",
        "unresolved_model_hash",
        "empty_prompt",
        "out_of_scope_unsupported_family",
    }
    assert expected <= reasons


def test_drifted_values_are_read_not_rejected(sample_build):
    out, _ = sample_build
    pairs = read(out, "instructions.parquet")
    # Sample images whose steps/cfg were strings, whose Model was an object or whose meta was wrapped
    # (ids with image_id % 23 in {2, 4, 11}) and whose sampler was junk or ComfyUI's (7, 8).
    quirky = pairs[pairs["image_id"] % 23 == 4]
    assert len(quirky) > 0 and quirky["sampling_steps"].dtype.kind == "i"
    assert len(pairs[pairs["image_id"] % 23 == 11]) > 0
    assert "DPM++ 2M Karras" in set(pairs.loc[pairs["image_id"] % 23 == 8, "sampling_method"])
    # The stringly-typed model (downloads "4200") passes the quality filter.
    assert "Stringly Typed (v1.0)" in set(pairs["model"])


def test_rerun_recomputes_nothing(sample_server, tmp_path):
    store = ArtifactStore(str(tmp_path))
    build(store, sample_server.url)
    requests_before = sum(sample_server.stats.requests.values())
    again = build(store, sample_server.url)
    assert all(again[stage]["cached"] for stage in ("filter", "describe", "split"))
    assert sum(sample_server.stats.requests.values()) == requests_before  # finished crawl: no request


def test_max_models_takes_the_first_models(sample_server, tmp_path):
    store = ArtifactStore(str(tmp_path))
    build(store, sample_server.url, params=CrawlParams(max_models=5))
    models = pd.read_parquet(tmp_path / "raw" / "models")
    assert sorted(models["model_id"]) == [101, 102, 103, 104, 105]
    check_contract(tmp_path)


def test_real_civitai_responses_meet_the_contract(dev_source, tmp_path):
    with CivitaiServer(dev_source) as server:
        build(ArtifactStore(str(tmp_path)), server.url, params=CrawlParams(max_models=60))
    check_contract(tmp_path)
    catalog = read(tmp_path, "catalog.parquet")
    assert {"Checkpoint", "LORA"} <= set(catalog["type"])


def test_today_stats_give_the_same_models_as_2023_stats(tmp_path):
    from diffagent.civitai.source import CivitaiSource

    outs = []
    for modern in (False, True):
        out = tmp_path / str(modern)
        with CivitaiServer(CivitaiSource.sample(modern_stats=modern)) as server:
            build(ArtifactStore(str(out)), server.url)
        outs.append(set(read(out, "catalog.parquet")["model"]))
    assert outs[0] == outs[1]


def test_sample_build_takes_every_supported_architecture(sample_build):
    """The default base models are all of them: Pony / Illustrious go in as sdxl, Flux.1 D as flux,
    Flux images' samplers (ComfyUI's `euler` + `simple`) are read, clip skip is kept."""
    out, _ = sample_build
    catalog, pairs = read(out, "catalog.parquet"), read(out, "instructions.parquet")
    assert {"sd1", "sdxl", "flux"} <= set(catalog["architecture"])
    assert {"Pony", "Illustrious", "Flux.1 D"} <= set(catalog["base_model"])
    flux = pairs[pairs["base_model"] == "Flux.1 D"]
    comfy = flux[flux["image_id"] % len(FLUX_SAMPLERS) == 1]  # ComfyUI: sampler "euler", scheduler "simple"
    assert len(comfy) > 0 and set(comfy["sampling_method"]) <= {"Euler", "DPM++ 2M Karras"}
    assert set(flux["clip_skip"]) == {1} and 2 in set(pairs.loc[pairs["base_model"] == "Pony", "clip_skip"])
