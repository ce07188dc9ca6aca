"""Availability filter + response reconstruction on a four-entry catalog."""

from __future__ import annotations

import json

import pytest

from diffagent.answers import default_api, repair_parameters
from diffagent.catalog import Catalog
from diffagent.rrhf.reconstruct import ReconstructionStats, ce_targets, reconstruct_candidates
from tests.rrhf.conftest import small_catalog

CATALOG = Catalog.from_entries(small_catalog())


def answer(**fields) -> str:
    base = {
        "model": "dreamshaper_8",
        "type": "Checkpoint",
        "base_model": "SD 1.5",
        "base_checkpoint": None,
        "width": 512,
        "height": 768,
        "sampling_method": "DPM++ 2M Karras",
        "sampling_steps": 30,
        "cfg_scale": 7.5,
    }
    base.update(fields)
    return json.dumps(base)


def test_repair_parameters_hand_worked() -> None:
    """SD 1.5: width 515 -> round(515/8)*8 = 512 (clamped, moved), height 4000 -> 2048 (clamped),
    steps "25" -> 25 (a number, unchanged), cfg 0.2 -> 1.0 (clamped), sampler "magic" -> "Euler a"
    (defaulted). Three clamped, one defaulted."""
    params, clamped, defaulted = repair_parameters(
        {"width": 515, "height": 4000, "sampling_steps": "25", "cfg_scale": 0.2, "sampling_method": "magic"},
        "SD 1.5",
    )
    assert params == {
        "width": 512,
        "height": 2048,
        "sampling_steps": 25,
        "cfg_scale": 1.0,
        "sampling_method": "Euler a",
    }
    assert (clamped, defaulted) == (3, 1)
    params, clamped, defaulted = repair_parameters({}, "SDXL 1.0")
    assert params == {
        "width": 1024,
        "height": 1024,
        "sampling_steps": 20,
        "cfg_scale": 7.0,
        "sampling_method": "Euler a",
    }
    assert (clamped, defaulted) == (0, 5)
    with pytest.raises(ValueError, match="'SD 2.1'"):
        repair_parameters({}, "SD 2.1")


def test_reconstruction_filters_rebuilds_adds_default_and_dedups() -> None:
    texts = [
        answer(model_description="made up", model_id=999),  # kept; catalog facts win
        answer(),  # duplicate of the first
        answer(model="pixel_art_lora", type="Checkpoint", base_checkpoint="juggernaut_xl", width=300),
        answer(model="not_a_model"),  # hallucination
        "garbage {not json",  # unparseable
        'Sure! {"model": "juggernaut_xl", "sampling_steps": 500} and more',  # garbage around JSON
    ]
    responses, stats = reconstruct_candidates(texts, CATALOG, "SD 1.5", {"SD 1.5": "sd15-base"})
    assert [r.model for r in responses] == ["dreamshaper_8", "pixel_art_lora", "juggernaut_xl", "sd15-base"]
    first, lora, xl, default = responses
    assert (first.model_id, first.version_id, first.model_description) == (
        1,
        10,
        "dreamshaper_8: a SD 1.5 Checkpoint.",
    )
    # The LoRA's type comes from the catalog; its named base is SDXL, so: the top SD 1.5 Checkpoint.
    assert (lora.type, lora.base_checkpoint, lora.base_checkpoint_version_id, lora.width) == (
        "LORA",
        "dreamshaper_8",
        10,
        304,
    )
    assert (xl.sampling_steps, xl.width, xl.height, xl.sampling_method) == (150, 1024, 1024, "Euler a")
    assert (default.model_id, default.sampling_method, default.sampling_steps, default.cfg_scale) == (
        0,
        "Euler a",
        20,
        7.0,
    )
    assert (stats.candidates, stats.kept, stats.duplicates) == (6, 4, 1)
    assert (stats.unparseable, stats.unknown_model, stats.hallucination_rate) == (1, 1, pytest.approx(2 / 6))
    # 300 -> 304 (1); 500 steps -> 150 (1); xl: width, height, sampler, cfg missing (4 defaulted).
    assert (stats.params_clamped, stats.params_defaulted, stats.base_checkpoint_defaulted) == (2, 4, 1)


def test_default_api_from_catalog_entry_and_errors() -> None:
    api = default_api("SDXL 1.0", CATALOG, {"SDXL 1.0": "juggernaut_xl"})
    assert (api.model_id, api.version_id, api.width, api.sampling_method) == (4, 40, 1024, "Euler a")
    with pytest.raises(ValueError, match="pixel_art_lora"):
        default_api("SD 1.5", CATALOG, {"SD 1.5": "pixel_art_lora"})
    # The default is not added twice when a candidate already is the default.
    responses, _ = reconstruct_candidates(
        [answer(width=512, height=512, sampling_method="Euler a", sampling_steps=20, cfg_scale=7)],
        CATALOG,
        "SD 1.5",
        {"SD 1.5": "dreamshaper_8"},
    )
    assert len(responses) == 1


def test_stats_add_up() -> None:
    total = ReconstructionStats(candidates=2, per_reason={"unknown_model": 1}) + ReconstructionStats(
        candidates=2, per_reason={"unparseable": 1}
    )
    assert (total.candidates, total.hallucinated, total.hallucination_rate) == (4, 2, 0.5)
    assert total.per_reason == {"unknown_model": 1, "unparseable": 1}


def test_only_catalog_answers_are_ce_targets() -> None:
    """A default base outside the catalog (a hub id) is ranked but never imitated (paper Eq. 9):
    the agent would learn to name an unknown model. A catalog Checkpoint as the default is a target."""
    texts = [answer(), answer(model="pixel_art_lora", type="LORA", base_checkpoint="dreamshaper_8")]
    hub, _ = reconstruct_candidates(texts, CATALOG, "SD 1.5", {"SD 1.5": "org/sd15-base"})
    assert [r.model for r in hub] == ["dreamshaper_8", "pixel_art_lora", "org/sd15-base"]
    assert ce_targets(hub, CATALOG) == [True, True, False]
    catalog_default, _ = reconstruct_candidates(texts, CATALOG, "SDXL 1.0", {"SDXL 1.0": "juggernaut_xl"})
    assert [r.model for r in catalog_default] == ["dreamshaper_8", "pixel_art_lora", "juggernaut_xl"]
    assert ce_targets(catalog_default, CATALOG) == [True, True, True]
