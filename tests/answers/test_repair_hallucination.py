"""Repair, classification and assembly on the five-entry catalog of conftest.py."""

from __future__ import annotations

import pytest

from diffagent.answers import (
    HallucinationReason,
    assemble_api,
    classify_answer,
    default_api,
    hallucination_rate,
    reconstruct,
    repair_base,
    repair_parameters,
)
from diffagent.answers.repair import nearest_valid
from diffagent.rrhf.reconstruct import reconstruct_candidates
from tests.answers.conftest import make_catalog


def test_nearest_valid_hand_worked() -> None:
    """515 / 8 = 64.375 -> 64 * 8 = 512; 4000 -> 2048; steps 0 -> 1; 150.6 -> 151 -> 150; cfg 0.2 -> 1.0."""
    assert nearest_valid("width", 515) == 512 and nearest_valid("height", 4000) == 2048
    assert nearest_valid("sampling_steps", 0) == 1 and nearest_valid("sampling_steps", 150.6) == 150
    assert nearest_valid("cfg_scale", 0.2) == 1.0 and nearest_valid("cfg_scale", 7.25) == 7.25


def test_repair_parameters_takes_the_fallback_for_what_cannot_be_read() -> None:
    """ "wide" is no number: the fallback's 768; 1030 -> round(128.75) * 8 = 1032 (clamped);
    "30" steps is 30 (kept, not counted); missing sampler and CFG: the fallback's."""
    fallback = {
        "width": 768,
        "height": 512,
        "sampling_method": "DDIM",
        "sampling_steps": 25,
        "cfg_scale": 5.0,
    }
    params, clamped, defaulted = repair_parameters(
        {"width": "wide", "height": 1030, "sampling_steps": "30"}, "SD 1.5", fallback
    )
    assert params == {
        "width": 768,
        "height": 1032,
        "sampling_method": "DDIM",
        "sampling_steps": 30,
        "cfg_scale": 5.0,
    }
    assert (clamped, defaulted) == (1, 3)


def test_repair_base_is_one_policy(catalog) -> None:
    # A usable named base is kept.
    assert repair_base(catalog, "pixel_art_lora", "dreamshaper_8") == ("dreamshaper_8", False)
    # Unusable (SDXL, unknown, missing): the samples' base, although it is the less downloaded one.
    for named in ("juggernaut_xl", "made_up", None):
        assert repair_base(catalog, "pixel_art_lora", named) == ("realistic_vision", True)
    # No samples: the most downloaded SD 1.5 Checkpoint (900 > 500 downloads).
    assert repair_base(make_catalog(samples=False), "pixel_art_lora", None) == ("dreamshaper_8", True)
    # A sample base of the wrong architecture is not used either.
    catalog.sample_settings["pixel_art_lora"].base_checkpoint = "juggernaut_xl"
    assert repair_base(catalog, "pixel_art_lora", None) == ("dreamshaper_8", True)
    assert repair_base(catalog, "neon_xl_lora", "dreamshaper_8") == ("juggernaut_xl", True)
    assert repair_base(catalog, "dreamshaper_8", "anything") == (None, False)  # a Checkpoint runs alone


def test_classify_answer_every_reason(catalog) -> None:
    assert classify_answer({"model": "pixel_art_lora"}, catalog) is None  # its base gets repaired
    assert classify_answer(None, catalog) == HallucinationReason.UNPARSEABLE
    assert classify_answer({"model": 3}, catalog) == HallucinationReason.UNPARSEABLE
    assert classify_answer({"model": "made_up"}, catalog) == HallucinationReason.UNKNOWN_MODEL
    assert classify_answer({"model": "juggernaut_xl"}, catalog) is None
    assert classify_answer({"model": "juggernaut_xl"}, catalog, "SD 1.5") == "wrong_architecture"
    no_sdxl_checkpoint = catalog.part(["dreamshaper_8", "neon_xl_lora"], "part")
    assert classify_answer({"model": "neon_xl_lora"}, no_sdxl_checkpoint) == "no_base_checkpoint"


def test_rrhf_statistics_and_the_evaluation_measure_the_same_rate(catalog) -> None:
    """Five free answers: one unparseable, one unknown model, one LoRA without a Checkpoint of its
    architecture, two fine: 3 / 5 = 0.6 both ways."""
    part = catalog.part(["dreamshaper_8", "pixel_art_lora", "neon_xl_lora"], "part")
    texts = ["no json", '{"model": "made_up"}', '{"model": "neon_xl_lora"}', '{"model": "dreamshaper_8"}',
             '{"model": "pixel_art_lora", "base_checkpoint": "juggernaut_xl"}']  # fmt: skip
    _, stats = reconstruct_candidates(texts, part, "SD 1.5", {"SD 1.5": "dreamshaper_8"})
    from diffagent.answers import parse_answer

    assert stats.hallucination_rate == hallucination_rate([parse_answer(t) for t in texts], part) == 0.6
    assert stats.per_reason == {"unparseable": 1, "unknown_model": 1, "no_base_checkpoint": 1}


def test_reconstruct_counts_its_repairs(catalog) -> None:
    rebuilt = reconstruct({"model": "pixel_art_lora", "width": 515, "sampling_method": "?"}, catalog)
    api = rebuilt.api
    # width clamped; height, steps, CFG and sampler from the LoRA's samples; base from its samples.
    assert (api.width, api.height, api.sampling_steps, api.cfg_scale, api.sampling_method) == (
        512,
        768,
        28,
        6.5,
        "DPM++ 2M Karras",
    )
    assert (rebuilt.clamped, rebuilt.defaulted, rebuilt.base_replaced) == (1, 4, True)
    assert (api.base_checkpoint, api.base_checkpoint_version_id, api.version_id) == (
        "realistic_vision",
        20,
        30,
    )


def test_assemble_api_strict_names_the_bad_value(catalog) -> None:
    good = {"model": "pixel_art_lora", "base_checkpoint": "dreamshaper_8", "width": 512, "height": 512,
            "sampling_method": "Euler a", "sampling_steps": 20, "cfg_scale": 7.0}  # fmt: skip
    api = assemble_api(good, catalog)
    assert (api.model_description, api.base_checkpoint_version_id) == ("pixel_art_lora: a SD 1.5 LORA.", 10)
    with pytest.raises(ValueError, match="width=999"):
        assemble_api({**good, "width": 999}, catalog)
    with pytest.raises(ValueError, match="'juggernaut_xl' is not a SD 1.5 Checkpoint"):
        assemble_api({**good, "base_checkpoint": "juggernaut_xl"}, catalog)
    with pytest.raises(ValueError, match="unknown_model: model 'nope'"):
        assemble_api({**good, "model": "nope"}, catalog)
    assert assemble_api({**good, "width": 999}, catalog, repair=True).width == 1000


def test_default_api(catalog) -> None:
    hub = default_api("SD 1.5", catalog)
    assert (hub.model_id, hub.version_id, hub.width, hub.sampling_steps) == (0, 0, 512, 20)
    assert default_api("SDXL 1.0", catalog, {"SDXL 1.0": "juggernaut_xl"}).version_id == 40
    with pytest.raises(ValueError, match="not a SD 1.5 Checkpoint"):
        default_api("SD 1.5", catalog, {"SD 1.5": "pixel_art_lora"})
