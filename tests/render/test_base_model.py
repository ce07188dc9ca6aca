"""The architecture's base model (version_id == BASE_MODEL_VERSION_ID): what default APIs render when
the base model is not a catalog entry (RRHF's default API, the evaluation's Baseline)."""

from __future__ import annotations

import numpy as np
import pytest

from diffagent.profiles import load_renderer
from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.store.base import file_sha256
from diffagent.store.civitai_store import CivitaiModelStore
from diffagent.store.tiny_store import BASE_WEIGHTS
from schemas.t2i import BASE_MODEL_VERSION_ID
from tests.render.conftest import make_api


def _base_api(**kw):
    return make_api(BASE_MODEL_VERSION_ID, model="stable-diffusion-v1-5", model_id=0, **kw)


def test_tiny_store_base_is_the_unperturbed_pipeline(tiny_store, tiny_pipelines):
    resolved = tiny_store.resolve(BASE_MODEL_VERSION_ID, "Checkpoint", "SD 1.5")
    assert resolved.path == tiny_pipelines / "sd15"
    assert resolved.sha256 == file_sha256(tiny_pipelines / "sd15" / BASE_WEIGHTS["sd1"])
    assert tiny_store.resolve(1, "Checkpoint", "SD 1.5").sha256 != resolved.sha256
    with pytest.raises(ValueError, match="base model, a Checkpoint; got kind 'LORA'"):
        tiny_store.resolve(BASE_MODEL_VERSION_ID, "LORA", "SD 1.5")


def test_civitai_store_base_loads_a_diffusers_folder_like_the_tiny_base(tiny_store, tiny_pipelines, tmp_path):
    """The real store's base path (from_pretrained on a configured folder) and the tiny store's base
    are the same weights, so they render the same pixels; a Civitai version would need a download."""
    api = _base_api()
    tiny_image = Renderer(tiny_store, RenderSettings(max_pipelines=1)).render(api, "a cat", "", [0])[0]
    settings = RenderSettings(sd15_base=str(tiny_pipelines / "sd15"), max_pipelines=1)
    renderer = load_renderer("default", catalog=[], settings=settings, store_dir=tmp_path / "models")
    assert isinstance(renderer.store, CivitaiModelStore)
    resolved = renderer.store.resolve(BASE_MODEL_VERSION_ID, "Checkpoint", "SD 1.5")
    assert resolved.pretrained == str(tiny_pipelines / "sd15")
    image = renderer.render(api, "a cat", "", [0])[0]
    assert png_bytes(image) == png_bytes(tiny_image)
    assert renderer.model_loads == 1 and not (tmp_path / "models").exists(), "nothing was downloaded"


def test_base_sources_fall_back_to_the_config_folders():
    settings = RenderSettings(
        sd15_config="org/sd15",
        sdxl_config="org/sdxl",
        flux_config="org/flux",
        flux_schnell_config="org/schnell",
        sdxl_base="/models/xl",
    )
    sources = settings.base_sources()
    assert (sources["SD 1.5"], sources["SDXL 1.0"]) == ("org/sd15", "/models/xl")
    assert sources["Pony"] == sources["Illustrious"] == "/models/xl", "SDXL architecture: one base"
    assert sources["Flux.1 D"] == "org/flux"
    assert sources["Flux.1 S"] == "org/schnell", "schnell renders its own base, not Flux.1 D's"
    store = CivitaiModelStore([], base_sources={"SD 1.5": "org/sd15"})
    first = store.resolve(BASE_MODEL_VERSION_ID, "Checkpoint", "SD 1.5")
    assert first.pretrained == "org/sd15" and len(first.sha256) == 64
    with pytest.raises(ValueError, match="no base model source for 'SDXL 1.0'"):
        store.resolve(BASE_MODEL_VERSION_ID, "Checkpoint", "SDXL 1.0")


def test_lora_on_the_base_model_and_base_differs_from_a_civitai_checkpoint(tiny_store):
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=2))
    base = renderer.render(_base_api(), "a cat", "", [0])[0]
    checkpoint = renderer.render(make_api(101), "a cat", "", [0])[0]
    on_base = make_api(7, "LORA", base_id=BASE_MODEL_VERSION_ID, base_checkpoint="sd15-base")
    lora = renderer.render(on_base, "a cat", "", [0])[0]
    pixels = [np.asarray(i).astype(np.int16) for i in (base, checkpoint, lora)]
    assert np.abs(pixels[0] - pixels[1]).mean() > 1
    assert np.abs(pixels[0] - pixels[2]).mean() > 1
    assert renderer.model_loads == 2  # the base pipeline served both the base and the LoRA
