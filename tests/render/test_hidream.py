"""HiDream (issue 25) through the real load paths: a transformer-only checkpoint (`from_single_file`
with HiDream-I1's config folder), an ai-toolkit LoRA (`load_lora_weights` converts its
`diffusion_model.` keys), true CFG with a negative prompt, every sampler, the compatibility rule
and the exports."""

from __future__ import annotations

import json

import pytest
import torch
from diffusers import HiDreamImageTransformer2DModel
from safetensors.torch import load_file

from diffagent.exports import ExportInputs, export
from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.store.tiny_store import TinyModelStore
from schemas.architectures import architecture_for, defaults_for
from schemas.compatibility import compatibility, lora_bases
from schemas.families_more import HIDREAM_VARIANTS
from schemas.samplers import SAMPLERS
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api

TINY = {"max_pipelines": 1, "render_size": 64, "render_max_steps": 2}
# HiDreamImagePipeline renders a fixed area (a 128x128 latent for a square); the tiny VAE does not
# downsample, so every tiny render is 128x128 whatever size is asked.
TINY_SIDE = 128


def _api(version_id: int, kind: str = "Checkpoint", **fields):
    defaults = defaults_for("HiDream")
    fields = {"sampler": defaults.sampling_method, "cfg_scale": defaults.cfg_scale, **fields}
    return make_api(version_id, kind, base_model="HiDream", **fields)


def test_hidream_defaults_are_the_model_cards() -> None:
    full = defaults_for("HiDream")
    assert (full.sampling_method, full.sampling_steps, full.cfg_scale) == ("UniPC", 50, 5.0)
    assert (full.width, full.height) == (1024, 1024)
    dev, fast = HIDREAM_VARIANTS["HiDream-ai/HiDream-I1-Dev"], HIDREAM_VARIANTS["HiDream-ai/HiDream-I1-Fast"]
    assert (dev.sampling_steps, dev.cfg_scale, fast.sampling_steps, fast.cfg_scale) == (28, 1.0, 16, 1.0)
    hidream = architecture_for("HiDream")
    assert (hidream.name, hidream.pipeline_class, hidream.gpu_dtype) == (
        "hidream",
        "HiDreamImagePipeline",
        "bfloat16",
    )
    components = [companion.component for companion in hidream.companions]
    assert components == ["text_encoder", "text_encoder_2", "text_encoder_3", "text_encoder_4", "vae"]


def test_checkpoint_is_the_transformer_and_loads_every_tensor(tiny_store) -> None:
    path = tiny_store.resolve(51, "Checkpoint", "HiDream").path
    tensors = load_file(str(path))
    # HiDream's own names (diffusers' single-file loader detects the family by this key).
    assert "double_stream_blocks.0.block.adaLN_modulation.1.bias" in tensors
    assert "single_stream_blocks.0.block.ff_i.experts.1.w2.weight" in tensors
    assert "caption_projection.2.linear.weight" in tensors  # the T5 projection, after the Llama ones
    loaded = HiDreamImageTransformer2DModel.from_single_file(
        str(path), config=str(tiny_store.tiny_dir / "hidream"), subfolder="transformer"
    )
    assert set(tensors) == set(loaded.state_dict())
    assert all(torch.equal(tensors[key], value) for key, value in loaded.state_dict().items())


def test_checkpoint_and_lora_render_reproducibly_and_the_lora_changes_the_image(tiny_store) -> None:
    checkpoint, lora = _api(51), _api(53, "LORA", base_id=51)
    first = Renderer(tiny_store, RenderSettings(**TINY))
    plain = first.render(checkpoint, "a red fox", "", [0])[0]
    styled = first.render(lora, "a red fox", "", [0])[0]
    assert type(next(iter(first.pipelines._pipelines.values()))).__name__ == "HiDreamImagePipeline"
    assert plain.size == (TINY_SIDE, TINY_SIDE)
    assert png_bytes(plain) != png_bytes(styled)
    again = Renderer(tiny_store, RenderSettings(**TINY))
    assert png_bytes(again.render(checkpoint, "a red fox", "", [0])[0]) == png_bytes(plain)
    assert png_bytes(again.render(lora, "a red fox", "", [0])[0]) == png_bytes(styled)
    keys = load_file(str(tiny_store.resolve(53, "LORA", "HiDream").path)).keys()
    assert "diffusion_model.double_stream_blocks.0.block.attn1.to_q.lora_A.weight" in keys
    assert "diffusion_model.double_stream_blocks.0.block.attn1.to_q_t.lora_B.weight" in keys
    assert "diffusion_model.single_stream_blocks.0.block.ff_i.shared_experts.w2.lora_A.weight" in keys


def test_cfg_above_one_reads_the_negative_prompt_and_cfg_one_does_not(tiny_store) -> None:
    """HiDream-I1-Full takes true CFG; Dev and Fast run at CFG 1 (diffusers: guidance off)."""
    renderer = Renderer(tiny_store, RenderSettings(**TINY))
    full = _api(51)  # CFG 5
    assert png_bytes(renderer.render(full, "a red fox", "", [0])[0]) != png_bytes(
        renderer.render(full, "a red fox", "blurry", [0])[0]
    )
    distilled = _api(51, cfg_scale=1.0)
    assert png_bytes(renderer.render(distilled, "a red fox", "", [0])[0]) == png_bytes(
        renderer.render(distilled, "a red fox", "blurry", [0])[0]
    )


def test_every_sampler_renders(tiny_store) -> None:
    renderer = Renderer(tiny_store, RenderSettings(**TINY))
    for sampler in SAMPLERS:
        image = renderer.render(_api(71, sampler=sampler, cfg_scale=1.0), "a fox")[0]
        assert image.size == (TINY_SIDE, TINY_SIDE), sampler


def test_a_hidream_lora_runs_only_on_hidream() -> None:
    assert lora_bases("HiDream") == ("HiDream",)
    assert compatibility("HiDream", "HiDream") == "same"
    assert compatibility("Flux.1 D", "HiDream") is None and compatibility("HiDream", "Flux.1 D") is None


def test_a_flux_lora_is_refused_on_a_hidream_checkpoint_naming_both(tiny_pipelines, tmp_path) -> None:
    """HiDream reads Flux.1's VAE and T5, not its transformer."""
    catalog = [
        catalog_entry("m80", model_id=80, version_id=80, type="Checkpoint", base_model="HiDream"),
        catalog_entry("m81", model_id=81, version_id=81, type="LORA", base_model="Flux.1 D"),
    ]
    store = TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog)
    api = make_api(81, "LORA", base_model="Flux.1 D", base_id=80, sampler="Euler", cfg_scale=3.5)
    with pytest.raises(ValueError, match=r"'Flux.1 D' \(flux\).*'HiDream'.*is hidream"):
        Renderer(store).render(api, "a cat", "", [0])


def test_comfyui_loads_the_four_text_encoders_and_a1111_refuses_naming_it() -> None:
    inputs = ExportInputs(_api(51, width=1024, height=1024), "hidreamFull.safetensors", "", None, "a red fox")
    nodes = {node["class_type"]: node["inputs"] for node in json.loads(export("comfyui", inputs)).values()}
    assert nodes["UNETLoader"] == {"unet_name": "hidreamFull.safetensors", "weight_dtype": "default"}
    # ComfyUI's HiDream example workflow, written out by hand.
    assert nodes["QuadrupleCLIPLoader"] == {
        "clip_name1": "clip_l_hidream.safetensors",
        "clip_name2": "clip_g_hidream.safetensors",
        "clip_name3": "t5xxl_fp8_e4m3fn_scaled.safetensors",
        "clip_name4": "llama_3.1_8b_instruct_fp8_scaled.safetensors",
    }
    assert nodes["VAELoader"] == {"vae_name": "ae.safetensors"}
    assert nodes["EmptySD3LatentImage"]["width"] == 1024
    sampler = nodes["KSampler"]
    assert (sampler["sampler_name"], sampler["scheduler"], sampler["cfg"]) == ("uni_pc", "simple", 5.0)
    with pytest.raises(ValueError, match=r"A1111 and Forge cannot load 'HiDream' \(hidream\)"):
        export("a1111", inputs)
