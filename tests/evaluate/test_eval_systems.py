"""Which T2I API each system renders, from an answer, the catalog and the base model."""

from __future__ import annotations

import pytest

from diffagent.catalog import Catalog
from diffagent.evaluate.systems import (
    PAPER_SYSTEMS,
    SYSTEMS,
    answer_parameters,
    catalog_index,
    check_answer,
    parse_answer,
    plan_render,
)
from schemas.t2i import T2IApi
from tests.evaluate.eval_fixtures import CATALOG

INDEX = Catalog.from_entries(CATALOG)
BASE = T2IApi(
    model="stable-diffusion-v1-5",
    type="Checkpoint",
    base_model="SD 1.5",
    model_id=0,
    version_id=0,
    width=512,
    height=512,
    sampling_method="Euler a",
    sampling_steps=20,
    cfg_scale=7.0,
)
SIZE = (512, 512)
ANSWER = {
    "model": "pixelArt_lora",
    "type": "LORA",
    "base_model": "SD 1.5",
    "base_checkpoint": "dreamshaper_8",
    "width": 768,
    "height": 512,
    "sampling_method": "DPM++ 2M Karras",
    "sampling_steps": 30,
    "cfg_scale": 5.5,
}


def test_the_paper_systems_come_first() -> None:
    titles = [SYSTEMS[name].title for name in PAPER_SYSTEMS]
    assert titles == ["Baseline", "Baseline*", "DiffAgent#", "DiffAgent-SFT", "DiffAgent-RRHF"]


def test_parse_answer_reads_json_inside_text() -> None:
    assert parse_answer('Sure! {"model": "x"} hope that helps')["model"] == "x"
    assert parse_answer("no json here") is None and parse_answer("") is None


def test_check_answer_reasons() -> None:
    assert check_answer(ANSWER, INDEX, "SD 1.5") == ""
    assert check_answer({"model": "made_up_v2"}, INDEX, "SD 1.5") == "unknown_model"
    assert check_answer(None, INDEX, "SD 1.5") == "unparseable"
    assert check_answer({"model": "juggernautXL_v9"}, INDEX, "SD 1.5") == "wrong_architecture"
    lora_only = Catalog.from_entries(
        [e for e in CATALOG if e.model != "dreamshaper_8" and e.model != "revAnimated_v122"]
    )
    assert check_answer(ANSWER, lora_only, "SD 1.5") == "no_base_checkpoint"


def test_a_lora_with_an_unusable_base_gets_the_most_downloaded_checkpoint() -> None:
    """dreamshaper_8 and revAnimated_v122 both have 1000 downloads; max() keeps the first: dreamshaper_8."""
    answer = {**ANSWER, "base_checkpoint": "juggernautXL_v9"}
    assert check_answer(answer, INDEX, "SD 1.5") == ""
    plan = plan_render(SYSTEMS["diffagent_rrhf"], answer, INDEX, BASE, SIZE)
    assert plan.api.base_checkpoint == "dreamshaper_8" and plan.params_fixed and not plan.fallback


def test_answer_parameters_replace_each_invalid_value() -> None:
    assert answer_parameters(ANSWER, "SD 1.5") == ("DPM++ 2M Karras", 30, 5.5, False)
    assert answer_parameters({**ANSWER, "sampling_method": "Euler A"}, "SD 1.5") == ("Euler a", 30, 5.5, True)
    assert answer_parameters({**ANSWER, "sampling_steps": 500, "cfg_scale": "7"}, "SD 1.5") == (
        "DPM++ 2M Karras",
        20,
        7.0,
        True,
    )
    assert answer_parameters(None, "SD 1.5") == ("Euler a", 20, 7.0, True)


@pytest.mark.parametrize(
    ("system", "model", "params"),
    [
        ("baseline", "stable-diffusion-v1-5", ("Euler a", 20, 7.0)),
        ("baseline_star", "stable-diffusion-v1-5", ("DPM++ 2M Karras", 30, 5.5)),
        ("diffagent_sharp", "pixelArt_lora", ("Euler a", 20, 7.0)),
        ("diffagent_rrhf", "pixelArt_lora", ("DPM++ 2M Karras", 30, 5.5)),
        ("hybrid", "pixelArt_lora", ("DPM++ 2M Karras", 30, 5.5)),
    ],
)
def test_plan_render_per_system(system: str, model: str, params: tuple) -> None:
    plan = plan_render(SYSTEMS[system], ANSWER, INDEX, BASE, SIZE)
    api = plan.api
    assert api.model == model and (api.sampling_method, api.sampling_steps, api.cfg_scale) == params
    assert (api.width, api.height) == SIZE, "every system renders at the same size"
    assert not plan.fallback and plan.reason == ""


def test_a_lora_answer_is_rebuilt_from_the_catalog() -> None:
    api = plan_render(SYSTEMS["diffagent_rrhf"], ANSWER, INDEX, BASE, SIZE).api
    assert (api.type, api.base_checkpoint, api.version_id, api.base_checkpoint_version_id) == (
        "LORA",
        "dreamshaper_8",
        3,
        1,
    )
    assert api.model_description == "pixelArt_lora makes pictures"


def test_hallucination_renders_the_baseline_and_says_why() -> None:
    answer = {**ANSWER, "model": "totally_real_model_v3"}
    plan = plan_render(SYSTEMS["diffagent_sft"], answer, INDEX, BASE, SIZE)
    assert plan.fallback and plan.reason == "unknown_model"
    assert plan.api.model == "stable-diffusion-v1-5" and plan.api.sampling_steps == 20
    # Baseline* uses only the parameters, so a hallucinated model does not matter to it.
    star = plan_render(SYSTEMS["baseline_star"], answer, INDEX, BASE, SIZE)
    assert not star.fallback and star.api.sampling_steps == 30


def test_catalog_index_reads_a_dabench_folder_with_null_fields(dabench_dir) -> None:
    index = catalog_index(dabench_dir)
    assert set(index) == set(INDEX) and index["dreamshaper_8"].published_at is None
