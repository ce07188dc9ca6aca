"""The evaluation's render plans for Flux: the default parameters are Flux's (flow-matching
Euler, 20 steps, guidance 3.5), not SD's "Euler a" / CFG 7."""

from __future__ import annotations

from diffagent.answers import default_api
from diffagent.catalog import Catalog
from diffagent.evaluate.systems import SYSTEMS, answer_parameters, plan_render
from tests.rrhf.conftest import catalog_entry

CATALOG = Catalog.from_entries([catalog_entry("flux_real", 7, "Checkpoint", "Flux.1 D")])
ANSWER = {
    "model": "flux_real",
    "type": "Checkpoint",
    "base_model": "Flux.1 D",
    "width": 896,
    "height": 1152,
    "sampling_method": "DPM++ 2M",
    "sampling_steps": 28,
    "cfg_scale": 2.5,
}


def test_flux_plans_take_flux_defaults() -> None:
    baseline = default_api("Flux.1 D", CATALOG)
    size = (1024, 1024)
    plans = {name: plan_render(SYSTEMS[name], ANSWER, CATALOG, baseline, size).api for name in SYSTEMS}
    settings = {n: (a.model, a.sampling_method, a.sampling_steps, a.cfg_scale) for n, a in plans.items()}
    assert settings["baseline"] == ("black-forest-labs/FLUX.1-dev", "Euler", 20, 3.5)
    assert settings["baseline_star"] == ("black-forest-labs/FLUX.1-dev", "DPM++ 2M", 28, 2.5)
    assert settings["diffagent_sharp"] == ("flux_real", "Euler", 20, 3.5)
    assert settings["diffagent_rrhf"] == ("flux_real", "DPM++ 2M", 28, 2.5)
    assert all((api.width, api.height) == size for api in plans.values())


def test_an_invalid_flux_sampler_is_replaced_by_fluxs() -> None:
    bad = {**ANSWER, "sampling_method": "Euler A", "cfg_scale": 99}
    assert answer_parameters(bad, "Flux.1 D") == ("Euler", 28, 3.5, True)
