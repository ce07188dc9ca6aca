"""Renderer: reproducible seeds, per-model weights, LoRA swapping, the render cache."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.render.settings import RenderSettings
from schemas.t2i import BASE_MODEL_VERSION_ID
from tests.render.conftest import make_api


def _pixels(image):
    return np.asarray(image).astype(np.int16)


def test_seeds_are_reproducible_alone(tiny_store):
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=1))
    api = make_api()
    both = renderer.render(api, "a cat", "blurry", [0, 1])
    again = renderer.render(api, "a cat", "blurry", [0, 1])
    alone = renderer.render(api, "a cat", "blurry", [1])[0]
    assert png_bytes(both[0]) == png_bytes(again[0])
    assert np.abs(_pixels(both[0]) - _pixels(both[1])).mean() > 1
    # batched vs alone: same noise, float reductions may differ in the last bit
    assert np.abs(_pixels(both[1]) - _pixels(alone)).max() <= 2
    assert renderer.model_loads == 1


def test_different_versions_render_differently(tiny_store):
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=2))
    first = renderer.render(make_api(101), "a cat", "", [0])[0]
    second = renderer.render(make_api(202), "a cat", "", [0])[0]
    assert np.abs(_pixels(first) - _pixels(second)).mean() > 1


def test_lora_swaps_without_reloading_the_base(tiny_store):
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=1))
    base = renderer.render(make_api(101), "a cat", "", [0])[0]
    lora_a = renderer.render(make_api(7, "LORA", base_id=101), "a cat", "", [0])[0]
    lora_b = renderer.render(make_api(8, "LORA", base_id=101), "a cat", "", [0])[0]
    base_again = renderer.render(make_api(101), "a cat", "", [0])[0]
    assert renderer.model_loads == 1 and renderer.pipelines.lora_loads == 2
    assert np.abs(_pixels(base) - _pixels(lora_a)).mean() > 1
    assert np.abs(_pixels(lora_a) - _pixels(lora_b)).mean() > 1
    assert png_bytes(base) == png_bytes(base_again)  # the adapter is really gone


def test_sdxl_lora_renders(tiny_store):
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=1))
    image = renderer.render(make_api(9, "LORA", base_model="SDXL 1.0", base_id=303), "a dog", "", [3])[0]
    assert image.size == (256, 256)


def test_render_cache_rerun_renders_nothing(tiny_store, tmp_path):
    api = make_api(101)
    first = Renderer(tiny_store, RenderSettings(max_pipelines=1), artifact_root=str(tmp_path / "art"))
    images = first.render(api, "a cat", "", [0, 1])
    assert first.stats.rendered == 2 and len(list((tmp_path / "art").rglob("*.png"))) == 2
    second = Renderer(tiny_store, RenderSettings(max_pipelines=1), artifact_root=str(tmp_path / "art"))
    again = second.render(api, "a cat", "", [0, 1])
    assert second.stats.rendered == 0 and second.stats.cached == 2 and second.model_loads == 0
    assert [png_bytes(i) for i in images] == [png_bytes(i) for i in again]
    # a changed parameter is a new key
    second.render(make_api(101, cfg_scale=5.0), "a cat", "", [0])
    assert second.stats.rendered == 1


def test_render_cache_on_an_fsspec_url(tiny_store):
    renderer = Renderer(
        tiny_store, RenderSettings(max_pipelines=1), artifact_root="memory://diffagent-test-renders"
    )
    renderer.render(make_api(101), "a cat", "", [5])
    renderer.render(make_api(101), "a cat", "", [5])
    assert renderer.stats.rendered == 1 and renderer.stats.cached == 1


def test_lora_without_base_is_refused(tiny_store):
    renderer = Renderer(tiny_store)
    api = make_api(7, "LORA", base_id=101).model_copy(update={"base_checkpoint_version_id": None})
    with pytest.raises(ValueError, match="no base_checkpoint_version_id"):
        renderer.render(api, "a cat", "", [0])
    with pytest.raises(ValueError, match="seeds is empty"):
        renderer.render(make_api(), "a cat", "", [])


def test_pipelines_evicted_across_architectures_keep_their_own_scheduler_config(tiny_store):
    """One pipeline at a time, SD 1.5 and Flux in turn: every load evicts the other architecture's
    pipeline. Each samples with the scheduler config it was loaded with (the tiny SD: scaled-linear
    betas from 0.00085; the tiny Flux: shift 3, dynamic shifting), and the renderer keeps nothing
    of an evicted pipeline alive (state keyed by a freed pipeline's id could be taken by the next)."""
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=1, render_size=64, render_max_steps=2))
    sd1 = make_api(BASE_MODEL_VERSION_ID, base_model="SD 1.5")
    flux = make_api(BASE_MODEL_VERSION_ID, base_model="Flux.1 D", sampler="Euler", cfg_scale=3.5)
    loaded = []
    for api in (sd1, flux, sd1, flux):
        renderer.render(api, "a cat", "", [0])
        (pipe,) = renderer.pipelines._pipelines.values()
        config = pipe.scheduler.config
        if api is flux:
            assert (type(pipe).__name__, config.get("shift"), config.get("use_dynamic_shifting")) == (
                "FluxPipeline",
                3.0,
                True,
            )
        else:
            assert (config.get("beta_start"), config.get("beta_schedule")) == (0.00085, "scaled_linear")
        loaded.append(weakref.ref(pipe))
        del pipe
    gc.collect()
    assert renderer.model_loads == 4
    assert [ref() is None for ref in loaded] == [True, True, True, False]
