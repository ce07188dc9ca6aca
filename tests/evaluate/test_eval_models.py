"""The evaluation's renderer: diffagent.render over the DABench catalog, Baseline on the base model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from diffagent.answers import default_api
from diffagent.catalog import Catalog
from diffagent.evaluate.models import load_render_fn, render_settings_for
from diffagent.evaluate.systems import SYSTEMS, plan_render
from schemas.t2i import BASE_MODEL_VERSION_ID
from tests.evaluate.eval_fixtures import CATALOG

torch.set_num_threads(1)
INDEX = Catalog.from_entries(CATALOG)


def test_settings_cap_tiny_renders_and_take_base_models_outside_the_catalog() -> None:
    tiny = render_settings_for("tiny", INDEX, {"SD 1.5": "/models/sd15", "SDXL 1.0": "juggernautXL_v9"})
    assert (tiny.render_size, tiny.render_max_steps) == (64, 2)
    assert tiny.base_sources()["SD 1.5"] == "/models/sd15"
    assert tiny.sdxl_base is None, "a catalog entry is rendered as that entry, not as a base folder"
    full = render_settings_for("default", INDEX)
    assert (full.render_size, full.render_max_steps) == (None, None)


def test_baseline_renders_the_base_model_and_systems_their_own_models(
    dabench_dir: Path, tmp_path: Path
) -> None:
    render, note = load_render_fn("tiny", dabench_dir, tmp_path / "render-cache", INDEX)
    assert "64px" in note
    baseline = default_api("SD 1.5", INDEX)
    assert baseline.version_id == BASE_MODEL_VERSION_ID  # the SD 1.5 base is not in this catalog
    size = (512, 512)
    fields = {"model": "pixelArt_lora", "base_checkpoint": "dreamshaper_8", "cfg_scale": 5.0}
    plans = {
        name: plan_render(SYSTEMS[name], fields, INDEX, baseline, size)
        for name in ("baseline", "baseline_star", "diffagent_rrhf")
    }
    assert plans["baseline_star"].api.version_id == BASE_MODEL_VERSION_ID
    assert plans["diffagent_rrhf"].api.version_id == 3
    images = {name: render(plan.api, "a knight", "blurry", [0])[0] for name, plan in plans.items()}
    assert {image.size for image in images.values()} == {(64, 64)}
    pixels = {name: np.asarray(image).astype(np.int16) for name, image in images.items()}
    assert np.abs(pixels["baseline"] - pixels["diffagent_rrhf"]).mean() > 1
    assert len(list((tmp_path / "render-cache").rglob("*.png"))) == 3
