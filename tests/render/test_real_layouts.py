"""The load paths a Civitai rollout takes: single-file LDM checkpoints (`from_single_file`),
kohya and LyCORIS LoRAs (`load_lora_weights`' conversions), Flux, clip skip, and the architecture
rule, on tiny models converted with the real files' key maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.pipelines import load_pipeline
from diffagent.render.renderer import Renderer
from diffagent.store.base import ResolvedModel
from diffagent.store.tiny_store import TinyModelStore
from diffagent.tiny.files import load_tiny_pipeline
from diffagent.tiny.kohya import kohya_lora
from diffagent.tiny.ldm import pipeline_to_ldm
from schemas.dabench import CatalogEntry
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api


def _pixels(pipe, **extra) -> np.ndarray:
    generator = torch.Generator().manual_seed(0)
    out = pipe(
        "a red fox",
        width=64,
        height=64,
        num_inference_steps=2,
        generator=generator,
        output_type="np",
        **extra,
    )
    return out.images[0]


@pytest.mark.parametrize(("base_model", "architecture"), [("SD 1.5", "sd1"), ("SDXL 1.0", "sdxl")])
def test_single_file_checkpoint_renders_like_its_diffusers_folder(
    tiny_pipelines, tmp_path, base_model, architecture
):
    folder_pipe = load_tiny_pipeline(tiny_pipelines, architecture)
    folder_pipe.set_progress_bar_config(disable=True)
    path = tmp_path / "model.safetensors"
    save_file(pipeline_to_ldm(folder_pipe), str(path))
    keys = load_file(str(path)).keys()
    assert any(key.startswith("model.diffusion_model.input_blocks.") for key in keys)
    assert any(key.startswith("first_stage_model.decoder.up.") for key in keys)
    if architecture == "sdxl":
        assert "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight" in keys
    checkpoint = ResolvedModel(1, "Checkpoint", base_model, path, "0" * 64)
    single = load_pipeline(checkpoint, RenderSettings(), "cpu", torch.float32)  # from_single_file
    assert type(single) is type(folder_pipe)
    np.testing.assert_allclose(_pixels(single), _pixels(folder_pipe), atol=1e-4)


def test_lora_changes_the_image_and_scale_zero_is_the_base(tiny_store):
    checkpoint_api = make_api(101)
    lora_api = make_api(7, "LORA", base_id=101)
    base = Renderer(tiny_store, RenderSettings(max_pipelines=1)).render(checkpoint_api, "a cat", "", [0, 1])
    with_lora = Renderer(tiny_store, RenderSettings(max_pipelines=1)).render(lora_api, "a cat", "", [0, 1])
    off = Renderer(tiny_store, RenderSettings(max_pipelines=1, lora_scale=0.0)).render(
        lora_api, "a cat", "", [0, 1]
    )
    assert all(png_bytes(a) != png_bytes(b) for a, b in zip(base, with_lora, strict=True))
    assert [png_bytes(image) for image in off] == [png_bytes(image) for image in base]
    keys = load_file(str(tiny_store.resolve(7, "LORA", "SD 1.5").path)).keys()
    assert any(key.startswith("lora_unet_down_blocks_") for key in keys), "SD 1.x kohya names are diffusers'"
    assert any(key.startswith("lora_te_text_model_encoder_layers_") for key in keys)


def test_kohya_sdxl_lora_loads_into_both_text_encoders_and_the_sgm_unet(tiny_pipelines, tmp_path):
    pipe = load_tiny_pipeline(tiny_pipelines, "sdxl")
    pipe.set_progress_bar_config(disable=True)
    tensors = kohya_lora(pipe, "sdxl", seed=3)
    assert any(key.startswith("lora_unet_input_blocks_") for key in tensors), "SDXL kohya names are sgm's"
    assert any(key.startswith("lora_te1_") for key in tensors) and any(
        key.startswith("lora_te2_") for key in tensors
    )
    save_file(tensors, str(tmp_path / "xl.safetensors"))
    before = _pixels(pipe)
    pipe.load_lora_weights(str(tmp_path), weight_name="xl.safetensors", adapter_name="xl")
    for part in (pipe.unet, pipe.text_encoder, pipe.text_encoder_2):
        assert any("lora_A" in name for name in part.state_dict()), f"{type(part).__name__} got no LoRA"
    assert not np.allclose(_pixels(pipe), before)


def test_locon_adds_conv_layers(tiny_pipelines, tmp_path):
    pipe = load_tiny_pipeline(tiny_pipelines, "sd1")
    pipe.set_progress_bar_config(disable=True)
    tensors = kohya_lora(pipe, "sd1", seed=4, locon=True)
    conv_down = tensors["lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"]
    assert conv_down.ndim == 4 and conv_down.shape[-2:] == (3, 3)
    save_file(tensors, str(tmp_path / "locon.safetensors"))
    before = _pixels(pipe)
    pipe.load_lora_weights(str(tmp_path), weight_name="locon.safetensors", adapter_name="locon")
    lora_names = [name for name in pipe.unet.state_dict() if "lora_A" in name]
    assert any("resnets.0.conv1" in name for name in lora_names)
    assert not np.allclose(_pixels(pipe), before)


def test_flux_lora_renders_on_a_flux_checkpoint(tiny_store):
    checkpoint = make_api(41, base_model="Flux.1 D", sampler="Euler", cfg_scale=3.5)
    lora = make_api(43, "LORA", base_model="Flux.1 D", base_id=41, sampler="Euler", cfg_scale=3.5)
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=1, render_size=64, render_max_steps=2))
    plain = renderer.render(checkpoint, "a cat", "", [0])[0]
    styled = renderer.render(lora, "a cat", "", [0])[0]
    assert (
        type(renderer.pipelines._pipelines[next(iter(renderer.pipelines._pipelines))]).__name__
        == "FluxPipeline"
    )
    assert png_bytes(plain) != png_bytes(styled)
    keys = load_file(str(tiny_store.resolve(43, "LORA", "Flux.1 D").path)).keys()
    assert "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight" in keys


def _entry(version_id: int, kind: str, base_model: str) -> CatalogEntry:
    return catalog_entry(
        f"m{version_id}", model_id=version_id, version_id=version_id, type=kind, base_model=base_model
    )


def test_a_lora_for_another_architecture_is_refused_naming_both(tiny_pipelines, tmp_path):
    catalog = [_entry(60, "Checkpoint", "SD 1.5"), _entry(61, "LORA", "Pony")]
    store = TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog)
    api = make_api(61, "LORA", base_model="Pony", base_id=60)
    with pytest.raises(ValueError, match=r"'Pony' \(sdxl\).*'SD 1.5'.*is sd1"):
        Renderer(store).render(api, "a cat", "", [0])


def test_a_pony_lora_loads_on_an_sdxl_checkpoint(tiny_pipelines, tmp_path):
    catalog = [_entry(70, "Checkpoint", "SDXL 1.0"), _entry(71, "LORA", "Pony")]
    store = TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog)
    settings = RenderSettings(max_pipelines=1, render_size=64, render_max_steps=2)
    images = Renderer(store, settings).render(
        make_api(71, "LORA", base_model="Pony", base_id=70), "a cat", "", [0]
    )
    assert images[0].size == (64, 64)


def test_clip_skip_reaches_the_text_encoder_and_leaves_lora_loading_alone(tiny_store):
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=1))
    last = renderer.render(make_api(101), "a cat", "", [0])[0]
    penultimate = renderer.render(make_api(101, clip_skip=2), "a cat", "", [0])[0]
    assert png_bytes(last) != png_bytes(penultimate)
    assert renderer.keys(make_api(101), "a cat", "", [0]) != renderer.keys(
        make_api(101, clip_skip=2), "a cat", "", [0]
    )
    # A LoRA (text encoder included) still loads on the pipeline that rendered with clip skip.
    lora = renderer.render(make_api(7, "LORA", base_id=101, clip_skip=2), "a cat", "", [0])[0]
    assert png_bytes(lora) != png_bytes(penultimate)
