"""SD 3.5 (issue 25): a Civitai SD 3.5 checkpoint is Stability's single file
(`model.diffusion_model.joint_blocks.N.*`), which diffusers' converter reads back to every tensor;
the renderer loads it and a diffusers-layout SD 3 LoRA through the real code path; the LoRA changes
the image at the same seed and a rerun is byte-identical."""

from __future__ import annotations

import torch
from diffusers.loaders.single_file_utils import convert_sd3_transformer_checkpoint_to_diffusers
from safetensors.torch import load_file

from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.tiny.files import load_tiny_pipeline
from diffagent.tiny.sd3 import transformer_to_stability
from tests.render.conftest import make_api

# Stability's MMDiT names (sd3_impls.py / mmditx.py), written out by hand.
BLOCK_KEYS = {
    "x_block.attn.qkv.weight",
    "x_block.attn.proj.weight",
    "x_block.attn.ln_q.weight",
    "x_block.adaLN_modulation.1.weight",
    "x_block.mlp.fc1.weight",
    "x_block.mlp.fc2.weight",
    "context_block.attn.qkv.weight",
    "context_block.adaLN_modulation.1.weight",
}


def test_stability_layout_converts_back_to_every_tensor(tiny_pipelines) -> None:
    transformer = load_tiny_pipeline(tiny_pipelines, "sd3").transformer
    state = {key: value.detach().clone() for key, value in transformer.state_dict().items()}
    stability = transformer_to_stability(state, num_layers=2)
    assert {"model.diffusion_model.pos_embed", "model.diffusion_model.final_layer.linear.weight"} <= set(
        stability
    )
    assert {f"model.diffusion_model.joint_blocks.0.{key}" for key in BLOCK_KEYS} <= set(stability)
    assert "model.diffusion_model.joint_blocks.0.x_block.attn2.qkv.weight" in stability  # SD 3.5 Medium's
    assert not any(key.startswith("model.diffusion_model.transformer_blocks") for key in stability)
    converted = convert_sd3_transformer_checkpoint_to_diffusers(dict(stability))
    assert set(converted) == set(state)
    assert [key for key in state if not torch.equal(converted[key], state[key])] == []


def test_sd35_checkpoint_and_lora_render_through_the_renderer(tiny_store) -> None:
    settings = RenderSettings(max_pipelines=1, render_size=64, render_max_steps=2)
    checkpoint = make_api(51, base_model="SD 3.5 Large", sampler="Euler", cfg_scale=3.5)
    lora = make_api(53, "LORA", base_model="SD 3.5 Large", base_id=51, sampler="Euler", cfg_scale=3.5)
    renderer = Renderer(tiny_store, settings)
    plain = renderer.render(checkpoint, "a cat", "", [0])[0]
    styled = renderer.render(lora, "a cat", "", [0])[0]
    pipe = next(iter(renderer.pipelines._pipelines.values()))
    assert type(pipe).__name__ == "StableDiffusion3Pipeline"
    assert plain.size == (64, 64)
    assert png_bytes(plain) != png_bytes(styled)
    again = Renderer(tiny_store, settings).render(lora, "a cat", "", [0])[0]
    assert png_bytes(again) == png_bytes(styled)
    checkpoint_keys = load_file(str(tiny_store.resolve(51, "Checkpoint", "SD 3.5 Large").path)).keys()
    assert "model.diffusion_model.joint_blocks.1.context_block.adaLN_modulation.1.weight" in checkpoint_keys
    lora_keys = load_file(str(tiny_store.resolve(53, "LORA", "SD 3.5 Large").path)).keys()
    assert "transformer.transformer_blocks.0.attn.to_q.lora_A.weight" in lora_keys
