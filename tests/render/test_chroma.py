"""Chroma (issue 25) through the real load paths: a transformer-only checkpoint (`from_single_file`
with Chroma1-HD's config folder), a kohya LoRA (diffusers' Flux LoRA converter), true CFG with a
negative prompt, every sampler, the compatibility rule and the exports."""

from __future__ import annotations

import json

import pytest
import torch
from diffusers import ChromaTransformer2DModel
from safetensors.torch import load_file

from diffagent.exports import ExportInputs, export
from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.store.tiny_store import TinyModelStore
from schemas.architectures import architecture_for, defaults_for
from schemas.samplers import SAMPLERS
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api

TINY = {"max_pipelines": 1, "render_size": 64, "render_max_steps": 2}


def _api(version_id: int, kind: str = "Checkpoint", **fields):
    defaults = defaults_for("Chroma")
    fields = {"sampler": defaults.sampling_method, "cfg_scale": defaults.cfg_scale, **fields}
    return make_api(version_id, kind, base_model="Chroma", **fields)


def test_chroma_defaults_are_chroma1_hd_s() -> None:
    defaults = defaults_for("Chroma")
    assert (defaults.sampling_steps, defaults.cfg_scale, defaults.width) == (40, 3.0, 1024)
    chroma = architecture_for("Chroma")
    assert (chroma.name, chroma.pipeline_class, chroma.gpu_dtype) == ("chroma", "ChromaPipeline", "bfloat16")
    assert chroma.forge_modules == ("t5xxl_fp16.safetensors", "ae.safetensors")


def test_checkpoint_is_the_transformer_and_loads_every_tensor(tiny_store) -> None:
    path = tiny_store.resolve(51, "Checkpoint", "Chroma").path
    tensors = load_file(str(path))
    # Chroma's own parts: the approximator in place of Flux.1's modulation, no CLIP pooled input.
    assert "distilled_guidance_layer.in_proj.weight" in tensors
    assert not any(key.startswith("time_text_embed.text_embedder") for key in tensors)
    loaded = ChromaTransformer2DModel.from_single_file(
        str(path), config=str(tiny_store.tiny_dir / "chroma"), subfolder="transformer"
    )
    assert set(tensors) == set(loaded.state_dict())
    assert all(torch.equal(tensors[key], value) for key, value in loaded.state_dict().items())


def test_checkpoint_and_lora_render_reproducibly_and_the_lora_changes_the_image(tiny_store) -> None:
    checkpoint, lora = _api(51), _api(53, "LORA", base_id=51)
    first = Renderer(tiny_store, RenderSettings(**TINY))
    plain = first.render(checkpoint, "a red fox", "", [0])[0]
    styled = first.render(lora, "a red fox", "", [0])[0]
    assert type(next(iter(first.pipelines._pipelines.values()))).__name__ == "ChromaPipeline"
    assert plain.size == (64, 64)
    assert png_bytes(plain) != png_bytes(styled)
    again = Renderer(tiny_store, RenderSettings(**TINY))
    assert png_bytes(again.render(checkpoint, "a red fox", "", [0])[0]) == png_bytes(plain)
    assert png_bytes(again.render(lora, "a red fox", "", [0])[0]) == png_bytes(styled)
    keys = load_file(str(tiny_store.resolve(53, "LORA", "Chroma").path)).keys()
    assert "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight" in keys
    assert "lora_unet_single_blocks_0_linear2.lora_up.weight" in keys


def test_chroma_takes_true_cfg_with_the_negative_prompt(tiny_store) -> None:
    renderer = Renderer(tiny_store, RenderSettings(**TINY))
    plain = renderer.render(_api(51), "a red fox", "", [0])[0]
    assert png_bytes(plain) != png_bytes(renderer.render(_api(51), "a red fox", "blurry", [0])[0])


def test_every_sampler_renders(tiny_store) -> None:
    renderer = Renderer(tiny_store, RenderSettings(**TINY))
    for sampler in SAMPLERS:
        assert renderer.render(_api(71, sampler=sampler), "a fox")[0].size == (64, 64), sampler


def test_a_chroma_lora_is_refused_on_a_flux_checkpoint_naming_both(tiny_pipelines, tmp_path) -> None:
    """Chroma's blocks are Flux.1's, so the mix-up is a likely one; the widths around them differ."""
    catalog = [
        catalog_entry("m80", model_id=80, version_id=80, type="Checkpoint", base_model="Flux.1 D"),
        catalog_entry("m81", model_id=81, version_id=81, type="LORA", base_model="Chroma"),
    ]
    store = TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog)
    with pytest.raises(ValueError, match=r"'Chroma' \(chroma\).*'Flux.1 D'.*is flux"):
        Renderer(store).render(_api(81, "LORA", base_id=80), "a cat", "", [0])


def test_comfyui_and_forge_exports_load_chroma_s_files() -> None:
    inputs = ExportInputs(_api(51, width=1024, height=1024), "chroma1HD.safetensors", "", None, "a red fox")
    nodes = {node["class_type"]: node["inputs"] for node in json.loads(export("comfyui", inputs)).values()}
    assert nodes["UNETLoader"]["unet_name"] == "chroma1HD.safetensors"
    assert nodes["CLIPLoader"] == {"clip_name": "t5xxl_fp16.safetensors", "type": "chroma"}
    assert nodes["VAELoader"] == {"vae_name": "ae.safetensors"}
    infotext = export("a1111", inputs)
    assert "Module 1: ae, Module 2: t5xxl_fp16" in infotext and "CFG scale: 3" in infotext
