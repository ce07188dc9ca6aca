"""AuraFlow and Pony V7 (issue 25) through the real load paths: a transformer-only checkpoint in
fal's original single-file names (`from_single_file` converts it), a diffusers-layout LoRA, every
sampler, the compatibility rule (AuraFlow -> Pony V7 partial; a Pony V7 LoRA on a Pony (SDXL)
checkpoint refused) and the exports."""

from __future__ import annotations

import json

import pytest
import torch
from diffusers import AuraFlowTransformer2DModel
from diffusers.loaders.single_file_utils import convert_auraflow_transformer_checkpoint_to_diffusers
from safetensors.torch import load_file

from diffagent.exports import ExportInputs, export
from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.store.tiny_store import TinyModelStore
from diffagent.tiny.auraflow import transformer_to_original
from schemas.architectures import architecture_of, defaults_for
from schemas.compatibility import compatibility
from schemas.samplers import SAMPLERS
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api

TINY = {"max_pipelines": 1, "render_size": 64, "render_max_steps": 2}
# One MMDiT block of fal's original checkpoint (aura_flow_0.3.safetensors), written out by hand.
DOUBLE_KEYS = {
    *(f"attn.w{stream}{part}.weight" for stream in (1, 2) for part in "qkvo"),
    *(f"{mlp}.{fc}.weight" for mlp in ("mlpX", "mlpC") for fc in ("c_fc1", "c_fc2", "c_proj")),
    "modX.1.weight",
    "modC.1.weight",
}
SINGLE_KEYS = {f"attn.w1{part}.weight" for part in "qkvo"} | {"modCX.1.weight"}
SINGLE_KEYS |= {f"mlp.{fc}.weight" for fc in ("c_fc1", "c_fc2", "c_proj")}
TOP_KEYS = {"register_tokens", "cond_seq_linear.weight", "final_linear.weight", "modF.1.weight"}
TOP_KEYS |= {"positional_encoding", "init_x_linear.weight", "init_x_linear.bias"}
TOP_KEYS |= {f"t_embedder.mlp.{i}.{part}" for i in (0, 2) for part in ("weight", "bias")}


def _api(version_id: int, kind: str = "Checkpoint", base_model: str = "Pony V7", **fields):
    defaults = defaults_for(base_model)
    fields = {"sampler": defaults.sampling_method, "cfg_scale": defaults.cfg_scale, **fields}
    return make_api(version_id, kind, base_model=base_model, **fields)


def test_both_base_models_are_auraflow_and_an_auraflow_lora_runs_partially_on_pony_v7() -> None:
    assert architecture_of("AuraFlow") == architecture_of("Pony V7") == "auraflow"
    assert compatibility("AuraFlow", "Pony V7") == "partial"
    assert compatibility("Pony V7", "AuraFlow") is None  # Civitai's rule goes one way
    assert compatibility("Pony V7", "Pony") is None
    assert (defaults_for("AuraFlow").sampling_steps, defaults_for("AuraFlow").cfg_scale) == (50, 3.5)


def test_checkpoint_is_in_fal_s_layout_and_converts_back_exactly(tiny_store) -> None:
    path = tiny_store.resolve(51, "Checkpoint", "Pony V7").path
    tensors = load_file(str(path))
    expected = TOP_KEYS | {f"double_layers.0.{key}" for key in DOUBLE_KEYS}
    assert set(tensors) == expected | {f"single_layers.0.{key}" for key in SINGLE_KEYS}
    converted = convert_auraflow_transformer_checkpoint_to_diffusers(dict(tensors))
    loaded = AuraFlowTransformer2DModel.from_single_file(
        str(path), config=str(tiny_store.tiny_dir / "auraflow"), subfolder="transformer"
    )
    assert set(converted) == set(loaded.state_dict())
    assert all(torch.equal(converted[key], value) for key, value in loaded.state_dict().items())


def test_original_layout_round_trips_every_tensor() -> None:
    torch.manual_seed(0)
    model = AuraFlowTransformer2DModel(
        sample_size=8, num_mmdit_layers=2, num_single_dit_layers=2, attention_head_dim=8,
        num_attention_heads=2, joint_attention_dim=16, caption_projection_dim=16, pos_embed_max_size=16,
    )  # fmt: skip
    state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    converted = convert_auraflow_transformer_checkpoint_to_diffusers(transformer_to_original(state))
    assert set(converted) == set(state)
    assert [key for key in state if not torch.equal(converted[key], state[key])] == []


def test_checkpoint_and_lora_render_reproducibly_and_the_lora_changes_the_image(tiny_store) -> None:
    checkpoint, lora = _api(51), _api(53, "LORA", base_id=51)
    first = Renderer(tiny_store, RenderSettings(**TINY))
    plain = first.render(checkpoint, "a red fox", "", [0])[0]
    styled = first.render(lora, "a red fox", "", [0])[0]
    assert type(next(iter(first.pipelines._pipelines.values()))).__name__ == "AuraFlowPipeline"
    assert plain.size == (64, 64)
    assert png_bytes(plain) != png_bytes(styled)
    again = Renderer(tiny_store, RenderSettings(**TINY))
    assert png_bytes(again.render(checkpoint, "a red fox", "", [0])[0]) == png_bytes(plain)
    assert png_bytes(again.render(lora, "a red fox", "", [0])[0]) == png_bytes(styled)
    keys = load_file(str(tiny_store.resolve(53, "LORA", "Pony V7").path)).keys()
    assert "transformer.joint_transformer_blocks.0.attn.add_q_proj.lora_A.weight" in keys
    assert "transformer.single_transformer_blocks.0.attn.to_q.lora_B.weight" in keys


def test_every_sampler_renders(tiny_store) -> None:
    renderer = Renderer(tiny_store, RenderSettings(**TINY))
    for sampler in SAMPLERS:
        assert renderer.render(_api(71, sampler=sampler), "a fox")[0].size == (64, 64), sampler


def test_a_pony_v7_lora_is_refused_on_a_pony_checkpoint_naming_both(tiny_pipelines, tmp_path) -> None:
    """Pony V6 (SDXL) and Pony V7 (AuraFlow) share a name, not a network."""
    catalog = [
        catalog_entry("m80", model_id=80, version_id=80, type="Checkpoint", base_model="Pony"),
        catalog_entry("m81", model_id=81, version_id=81, type="LORA", base_model="Pony V7"),
    ]
    store = TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog)
    with pytest.raises(ValueError, match=r"'Pony V7' \(auraflow\).*'Pony'.*is sdxl"):
        Renderer(store).render(_api(81, "LORA", base_id=80), "a cat", "", [0])


def test_comfyui_loads_the_transformer_and_a1111_refuses_naming_it() -> None:
    inputs = ExportInputs(_api(51, width=1024, height=1024), "ponyV7.safetensors", "", None, "a red fox")
    nodes = {node["class_type"]: node["inputs"] for node in json.loads(export("comfyui", inputs)).values()}
    assert nodes["UNETLoader"]["unet_name"] == "ponyV7.safetensors"
    assert nodes["CLIPLoader"]["clip_name"] == "auraflow_pile_t5xl_fp16.safetensors"
    assert nodes["EmptyLatentImage"]["width"] == 1024
    with pytest.raises(ValueError, match=r"A1111 and Forge cannot load 'Pony V7' \(auraflow\)"):
        export("a1111", inputs)
