"""Each architecture's default API where an answer gives no usable value: Flux takes flow-matching
Euler and guidance 3.5 (Flux.1 S: 4 steps, no guidance), never SD's "Euler a" and CFG 7."""

from __future__ import annotations

import pytest

from diffagent.answers import (
    assemble_api,
    default_api,
    default_parameters,
    default_settings,
    repair_parameters,
)
from diffagent.catalog import Catalog
from tests.rrhf.conftest import catalog_entry

FLUX_D = {"width": 1024, "height": 1024, "sampling_method": "Euler", "sampling_steps": 20, "cfg_scale": 3.5}


def test_default_parameters_per_base_model() -> None:
    assert default_parameters("Flux.1 D") == FLUX_D
    assert default_parameters("Flux.1 S") == {**FLUX_D, "sampling_steps": 4, "cfg_scale": 1.0}
    sd = {"sampling_method": "Euler a", "sampling_steps": 20, "cfg_scale": 7.0}
    assert default_parameters("SD 1.5") == {"width": 512, "height": 512, **sd}
    assert default_parameters("Pony") == {"width": 1024, "height": 1024, **sd}, "Pony is SDXL"
    flux_settings = {"sampling_method": "Euler", "sampling_steps": 20, "cfg_scale": 3.5}
    assert default_settings("Flux.1 D") == flux_settings
    with pytest.raises(ValueError, match="'Flux.2'"):
        default_parameters("Flux.2")


def test_repair_a_flux_answer_with_no_fallback() -> None:
    """1030 -> round(128.75) * 8 = 1032 (clamped); "tall" no number: Flux's 1024; "Euler A" is no
    sampler: Flux's "Euler"; 28 steps kept; CFG missing: Flux's guidance 3.5 (3 defaulted)."""
    fields = {"width": 1030, "height": "tall", "sampling_method": "Euler A", "sampling_steps": 28}
    params, clamped, defaulted = repair_parameters(fields, "Flux.1 D")
    assert params == {**FLUX_D, "width": 1032, "sampling_steps": 28}
    assert (clamped, defaulted) == (1, 3)
    schnell, _, _ = repair_parameters({"width": 512, "height": 512}, "Flux.1 S")
    assert (schnell["sampling_method"], schnell["sampling_steps"], schnell["cfg_scale"]) == ("Euler", 4, 1.0)


def test_a_stale_sd_sampler_in_the_fallback_becomes_fluxs_default() -> None:
    """A fallback sampler outside SAMPLERS (old data) is replaced by the base model's sampler."""
    params, _, _ = repair_parameters({}, "Flux.1 D", {"sampling_method": "Euler Ancestral"})
    assert params["sampling_method"] == "Euler"


def test_flux_answers_and_default_api_use_flux_defaults() -> None:
    catalog = Catalog.from_entries([catalog_entry("flux_real", 7, "Checkpoint", "Flux.1 D")])
    api = assemble_api({"model": "flux_real", "cfg_scale": "much"}, catalog, repair=True)
    assert (api.sampling_method, api.sampling_steps, api.cfg_scale, api.width) == ("Euler", 20, 3.5, 1024)
    base = default_api("Flux.1 D", catalog)
    assert (base.model, base.version_id) == ("black-forest-labs/FLUX.1-dev", 0)
    assert (base.sampling_method, base.cfg_scale) == ("Euler", 3.5)
    assert default_api("Flux.1 S", catalog).model == "black-forest-labs/FLUX.1-schnell"
