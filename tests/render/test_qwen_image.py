"""Qwen-Image through the real load paths: a transformer-only checkpoint in its released (diffusers)
names (`from_single_file`), a musubi-tuner LoRA (`load_lora_weights` converts it), true CFG from
the table's cfg_scale, and the architecture rule."""

from __future__ import annotations

import pytest
import torch
from diffusers import QwenImageTransformer2DModel
from safetensors.torch import load_file

from diffagent.exports import ExportInputs, export
from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.store.tiny_store import TinyModelStore
from schemas.architectures import architecture_of, defaults_for
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api

TINY = {"max_pipelines": 1, "render_size": 64, "render_max_steps": 2}
# One block of Qwen-Image's transformer file (qwen_image_fp8_e4m3fn.safetensors), written out by hand.
BLOCK_KEYS = {
    f"{module}.{part}"
    for module in (
        "attn.to_q",
        "attn.to_k",
        "attn.to_v",
        "attn.to_out.0",
        "attn.add_q_proj",
        "attn.add_k_proj",
        "attn.add_v_proj",
        "attn.to_add_out",
        "img_mod.1",
        "txt_mod.1",
        "img_mlp.net.0.proj",
        "img_mlp.net.2",
        "txt_mlp.net.0.proj",
        "txt_mlp.net.2",
    )
    for part in ("weight", "bias")
} | {f"attn.{norm}.weight" for norm in ("norm_q", "norm_k", "norm_added_q", "norm_added_k")}
TOP_KEYS = {
    f"{module}.{part}"
    for module in (
        "img_in",
        "txt_in",
        "proj_out",
        "norm_out.linear",
        "time_text_embed.timestep_embedder.linear_1",
        "time_text_embed.timestep_embedder.linear_2",
    )
    for part in ("weight", "bias")
} | {"txt_norm.weight"}


def _api(version_id: int, kind: str = "Checkpoint", **fields):
    defaults = defaults_for("Qwen")
    fields = {"sampler": defaults.sampling_method, "cfg_scale": defaults.cfg_scale, **fields}
    return make_api(version_id, kind, base_model="Qwen", **fields)


def test_checkpoint_has_qwen_images_keys_and_loads_every_tensor(tiny_store) -> None:
    path = tiny_store.resolve(61, "Checkpoint", "Qwen").path
    tensors = load_file(str(path))
    assert set(tensors) == TOP_KEYS | {f"transformer_blocks.0.{key}" for key in BLOCK_KEYS}
    loaded = QwenImageTransformer2DModel.from_single_file(
        str(path), config=str(tiny_store.tiny_dir / "qwen-image"), subfolder="transformer"
    )
    assert all(torch.equal(tensors[key], value) for key, value in loaded.state_dict().items())


def test_checkpoint_and_lora_render_reproducibly_and_the_lora_changes_the_image(tiny_store) -> None:
    checkpoint, lora = _api(61), _api(63, "LORA", base_id=61)
    first = Renderer(tiny_store, RenderSettings(**TINY))
    plain = first.render(checkpoint, "a red fox", "", [0])[0]
    styled = first.render(lora, "a red fox", "", [0])[0]
    assert type(next(iter(first.pipelines._pipelines.values()))).__name__ == "QwenImagePipeline"
    assert plain.size == (64, 64)
    assert png_bytes(plain) != png_bytes(styled)
    again = Renderer(tiny_store, RenderSettings(**TINY))
    assert png_bytes(again.render(checkpoint, "a red fox", "", [0])[0]) == png_bytes(plain)
    assert png_bytes(again.render(lora, "a red fox", "", [0])[0]) == png_bytes(styled)
    tensors = load_file(str(tiny_store.resolve(63, "LORA", "Qwen").path))
    assert "lora_unet_transformer_blocks_0_attn_to_q.lora_down.weight" in tensors
    assert "lora_unet_transformer_blocks_0_img_mlp_net_0_proj.lora_up.weight" in tensors
    assert tensors["lora_unet_transformer_blocks_0_attn_add_k_proj.alpha"].item() == 2.0


def test_cfg_runs_without_a_negative_prompt_and_cfg_one_is_none(tiny_store) -> None:
    """Qwen-Image's true CFG runs only with a negative prompt: the empty one is sent, so CFG 4
    differs from CFG 1 even with none given; at CFG 1 a negative prompt changes nothing."""
    renderer = Renderer(tiny_store, RenderSettings(**TINY))
    guided = png_bytes(renderer.render(_api(61), "a red fox", "", [0])[0])
    unguided = png_bytes(renderer.render(_api(61, cfg_scale=1.0), "a red fox", "", [0])[0])
    assert guided != unguided
    assert png_bytes(renderer.render(_api(61, cfg_scale=1.0), "a red fox", "blurry", [0])[0]) == unguided


def test_a_qwen_lora_is_refused_on_a_flux_checkpoint_naming_both(tiny_pipelines, tmp_path) -> None:
    catalog = [
        catalog_entry("m90", model_id=90, version_id=90, type="Checkpoint", base_model="Flux.1 D"),
        catalog_entry("m91", model_id=91, version_id=91, type="LORA", base_model="Qwen"),
    ]
    store = TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog)
    with pytest.raises(ValueError, match=r"'Qwen' \(qwen-image\).*'Flux.1 D'.*is flux"):
        Renderer(store).render(_api(91, "LORA", base_id=90), "a cat", "", [0])


@pytest.mark.parametrize("format", ["a1111", "a1111-api"])
def test_a1111_exports_refuse_qwen_image_naming_it(format: str) -> None:
    inputs = ExportInputs(_api(61), "qwenImage_v1.safetensors", "", None, "a red fox")
    with pytest.raises(ValueError, match=r"A1111 and Forge cannot load 'Qwen' \(qwen-image\)"):
        export(format, inputs)


def test_qwen_is_qwen_image_at_its_model_cards_defaults() -> None:
    assert architecture_of("Qwen") == "qwen-image"
    defaults = defaults_for("Qwen")
    assert (defaults.width, defaults.sampling_steps, defaults.cfg_scale) == (1328, 50, 4.0)
