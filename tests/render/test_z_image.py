"""Z-Image through the real load paths: a transformer-only checkpoint in Tongyi-MAI's original
single-file names (`from_single_file` converts it), an ai-toolkit LoRA (`load_lora_weights`
converts it), CFG as Z-Image's pipeline takes it, and the architecture rule."""

from __future__ import annotations

import pytest
import torch
from diffusers import ZImageTransformer2DModel
from diffusers.loaders.single_file_utils import convert_z_image_transformer_checkpoint_to_diffusers
from safetensors.torch import load_file

from diffagent.exports import ExportInputs, export
from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.store.tiny_store import TinyModelStore
from diffagent.tiny.z_image import transformer_to_original
from schemas.architectures import architecture_of, defaults_for
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api

TINY = {"max_pipelines": 1, "render_size": 64, "render_max_steps": 2}
# One main block of Z-Image's original checkpoint (z_image_turbo_bf16.safetensors), written out by hand.
ORIGINAL_BLOCK_KEYS = {
    "adaLN_modulation.0.weight",
    "adaLN_modulation.0.bias",
    "attention.qkv.weight",
    "attention.out.weight",
    "attention.q_norm.weight",
    "attention.k_norm.weight",
    "attention_norm1.weight",
    "attention_norm2.weight",
    "feed_forward.w1.weight",
    "feed_forward.w2.weight",
    "feed_forward.w3.weight",
    "ffn_norm1.weight",
    "ffn_norm2.weight",
}
ORIGINAL_TOP_KEYS = {
    "x_embedder.weight",
    "x_embedder.bias",
    "final_layer.linear.weight",
    "final_layer.linear.bias",
    "final_layer.adaLN_modulation.1.weight",
    "final_layer.adaLN_modulation.1.bias",
    "cap_embedder.0.weight",
    "cap_embedder.1.weight",
    "cap_embedder.1.bias",
    "t_embedder.mlp.0.weight",
    "t_embedder.mlp.0.bias",
    "t_embedder.mlp.2.weight",
    "t_embedder.mlp.2.bias",
    "x_pad_token",
    "cap_pad_token",
}


def _api(version_id: int, kind: str = "Checkpoint", base_model: str = "ZImageTurbo", **fields):
    defaults = defaults_for(base_model)
    fields = {"sampler": defaults.sampling_method, "cfg_scale": defaults.cfg_scale, **fields}
    return make_api(version_id, kind, base_model=base_model, **fields)


def test_checkpoint_is_in_the_original_layout_and_converts_back_exactly(tiny_store) -> None:
    path = tiny_store.resolve(51, "Checkpoint", "ZImageTurbo").path
    tensors = load_file(str(path))
    expected = set(ORIGINAL_TOP_KEYS) | {f"layers.0.{key}" for key in ORIGINAL_BLOCK_KEYS}
    expected |= {f"noise_refiner.0.{key}" for key in ORIGINAL_BLOCK_KEYS}
    # The context refiner is not modulated by the timestep: no adaLN.
    expected |= {f"context_refiner.0.{key}" for key in ORIGINAL_BLOCK_KEYS if not key.startswith("adaLN")}
    assert set(tensors) == expected
    converted = convert_z_image_transformer_checkpoint_to_diffusers(dict(tensors))
    loaded = ZImageTransformer2DModel.from_single_file(
        str(path), config=str(tiny_store.tiny_dir / "z-image"), subfolder="transformer"
    )
    assert set(converted) == set(loaded.state_dict())
    assert all(torch.equal(converted[key], value) for key, value in loaded.state_dict().items())


def test_original_layout_round_trips_every_tensor() -> None:
    torch.manual_seed(0)
    model = ZImageTransformer2DModel(
        dim=32, n_layers=2, n_refiner_layers=1, n_heads=2, n_kv_heads=2, cap_feat_dim=16, axes_dims=[4, 6, 6]
    )
    state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    converted = convert_z_image_transformer_checkpoint_to_diffusers(transformer_to_original(state))
    assert set(converted) == set(state)
    assert [key for key in state if not torch.equal(converted[key], state[key])] == []


def test_checkpoint_and_lora_render_reproducibly_and_the_lora_changes_the_image(tiny_store) -> None:
    checkpoint, lora = _api(51), _api(53, "LORA", base_id=51)
    first = Renderer(tiny_store, RenderSettings(**TINY))
    plain = first.render(checkpoint, "a red fox", "", [0])[0]
    styled = first.render(lora, "a red fox", "", [0])[0]
    assert type(next(iter(first.pipelines._pipelines.values()))).__name__ == "ZImagePipeline"
    assert plain.size == (64, 64)
    assert png_bytes(plain) != png_bytes(styled)
    again = Renderer(tiny_store, RenderSettings(**TINY))
    assert png_bytes(again.render(checkpoint, "a red fox", "", [0])[0]) == png_bytes(plain)
    assert png_bytes(again.render(lora, "a red fox", "", [0])[0]) == png_bytes(styled)
    keys = load_file(str(tiny_store.resolve(53, "LORA", "ZImageTurbo").path)).keys()
    assert "diffusion_model.layers.0.attention.to_q.lora_A.weight" in keys
    assert "diffusion_model.layers.0.feed_forward.w2.lora_B.weight" in keys


def test_cfg_one_is_no_guidance_and_above_one_reads_the_negative_prompt(tiny_store) -> None:
    """The table keeps ComfyUI's CFG (1 = none); Z-Image's pipeline takes CFG - 1."""
    renderer = Renderer(tiny_store, RenderSettings(**TINY))
    turbo = _api(51)  # CFG 1
    assert png_bytes(renderer.render(turbo, "a red fox", "", [0])[0]) == png_bytes(
        renderer.render(turbo, "a red fox", "blurry", [0])[0]
    )
    base = _api(51, base_model="ZImageBase")  # CFG 4
    assert base.cfg_scale == 4.0
    assert png_bytes(renderer.render(base, "a red fox", "", [0])[0]) != png_bytes(
        renderer.render(base, "a red fox", "blurry", [0])[0]
    )


def test_a_z_image_lora_is_refused_on_an_sdxl_checkpoint_naming_both(tiny_pipelines, tmp_path) -> None:
    catalog = [
        catalog_entry("m80", model_id=80, version_id=80, type="Checkpoint", base_model="SDXL 1.0"),
        catalog_entry("m81", model_id=81, version_id=81, type="LORA", base_model="ZImageTurbo"),
    ]
    store = TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog)
    api = _api(81, "LORA", base_id=80)
    with pytest.raises(ValueError, match=r"'ZImageTurbo' \(z-image\).*'SDXL 1.0'.*is sdxl"):
        Renderer(store).render(api, "a cat", "", [0])


def test_both_base_models_are_z_image() -> None:
    assert architecture_of("ZImageTurbo") == architecture_of("ZImageBase") == "z-image"


@pytest.mark.parametrize("format", ["a1111", "a1111-api"])
def test_a1111_exports_refuse_z_image_naming_it(format: str) -> None:
    inputs = ExportInputs(_api(51), "zImageTurbo_v1.safetensors", "", None, "a red fox")
    with pytest.raises(ValueError, match=r"A1111 and Forge cannot load 'ZImageTurbo' \(z-image\)"):
        export(format, inputs)
