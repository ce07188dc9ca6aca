"""The BFL single-file layout of Flux checkpoints (what Civitai serves), checked against diffusers'
own converter: `tiny.flux.transformer_to_bfl` must write exactly the keys the converter reads, and
the converter must give back every tensor unchanged.

The tiny Flux checkpoints themselves stay in diffusers' names because that converter hard-codes
Flux.1's widths (see `diffagent.tiny.flux`); these tests use Flux.1's real widths on the meta
device (shapes only, no memory) and, for values, tensors as tall as the converter's split needs."""

from __future__ import annotations

import torch
from diffusers import FluxTransformer2DModel
from diffusers.loaders.single_file_utils import convert_flux_transformer_checkpoint_to_diffusers

from diffagent.tiny.flux import transformer_to_bfl

# BFL's flux/model.py + modules/layers.py, written out by hand: the names in flux1-dev.safetensors.
TOP_KEYS = {
    f"{module}.{part}"
    for module in (
        "img_in",
        "txt_in",
        "time_in.in_layer",
        "time_in.out_layer",
        "vector_in.in_layer",
        "vector_in.out_layer",
        "guidance_in.in_layer",
        "guidance_in.out_layer",
        "final_layer.linear",
        "final_layer.adaLN_modulation.1",
    )
    for part in ("weight", "bias")
}
DOUBLE_BLOCK_KEYS = {
    f"{stream}_{name}"
    for stream in ("img", "txt")
    for name in (
        "mod.lin.weight",
        "mod.lin.bias",
        "attn.qkv.weight",
        "attn.qkv.bias",
        "attn.norm.query_norm.scale",
        "attn.norm.key_norm.scale",
        "attn.proj.weight",
        "attn.proj.bias",
        "mlp.0.weight",
        "mlp.0.bias",
        "mlp.2.weight",
        "mlp.2.bias",
    )
}
SINGLE_BLOCK_KEYS = {
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
    "norm.query_norm.scale",
    "norm.key_norm.scale",
    "modulation.lin.weight",
    "modulation.lin.bias",
}


def _flux1_dev_on_meta() -> FluxTransformer2DModel:
    """Flux.1 D's transformer config (diffusers' defaults are Flux.1's widths: 24 heads x 128,
    19 double and 38 single blocks) with its guidance embedding, built without memory."""
    with torch.device("meta"):
        return FluxTransformer2DModel(guidance_embeds=True)


def test_bfl_keys_are_flux1_devs_and_convert_back_to_every_diffusers_tensor() -> None:
    """20 top-level + 19 x 24 double-block + 38 x 8 single-block tensors = 780, the count of
    flux1-dev.safetensors; the converter consumes every one and rebuilds the model's state dict."""
    state = _flux1_dev_on_meta().state_dict()
    bfl = transformer_to_bfl(state)
    expected = set(TOP_KEYS)
    expected |= {f"double_blocks.{i}.{key}" for i in range(19) for key in DOUBLE_BLOCK_KEYS}
    expected |= {f"single_blocks.{i}.{key}" for i in range(38) for key in SINGLE_BLOCK_KEYS}
    assert set(bfl) == expected
    assert len(bfl) == 780
    assert bfl["double_blocks.0.img_attn.qkv.weight"].shape == (3 * 3072, 3072)
    assert bfl["single_blocks.0.linear1.weight"].shape == (3 * 3072 + 4 * 3072, 3072)
    remaining = dict(bfl)
    converted = convert_flux_transformer_checkpoint_to_diffusers(remaining)
    assert remaining == {}, "the converter pops every key it reads: none may be left over"
    assert set(converted) == set(state)
    assert all(converted[key].shape == state[key].shape for key in state)


def test_bfl_map_round_trips_values_through_diffusers_converter() -> None:
    """Real values: a tiny transformer whose single-block q/k/v/MLP rows are as many as the
    converter's hard-coded split (3072, 3072, 3072, 12288); any swap of fused parts, of the
    final layer's shift/scale halves or of a name shows up as a changed tensor."""
    torch.manual_seed(0)
    model = FluxTransformer2DModel(
        patch_size=1,
        in_channels=16,
        num_layers=2,
        num_single_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        guidance_embeds=True,
        axes_dims_rope=(4, 6, 6),
    )
    state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    for index in range(2):
        stem = f"single_transformer_blocks.{index}."
        rows_of = {"attn.to_q": 3072, "attn.to_k": 3072, "attn.to_v": 3072, "proj_mlp": 12288}
        for name, rows in rows_of.items():
            state[f"{stem}{name}.weight"] = torch.randn(rows, 2)
            state[f"{stem}{name}.bias"] = torch.randn(rows)
    converted = convert_flux_transformer_checkpoint_to_diffusers(transformer_to_bfl(state))
    assert set(converted) == set(state)
    changed = [key for key in state if not torch.equal(converted[key], state[key])]
    assert changed == []


def test_schnell_has_no_guidance_keys() -> None:
    """Flux.1 S has no guidance embedding: its file has no `guidance_in.*` (776 tensors)."""
    with torch.device("meta"):
        state = FluxTransformer2DModel(guidance_embeds=False).state_dict()
    bfl = transformer_to_bfl(state)
    assert not any(key.startswith("guidance_in.") for key in bfl)
    assert len(bfl) == 776
