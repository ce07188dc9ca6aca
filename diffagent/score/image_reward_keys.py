"""Key mapping from the official ImageReward checkpoint onto our transformers-based model.

The official model (THUDM/ImageReward, `ImageReward.pt`) is `blip` = BLIP_Pretrain (a timm-style
ViT-L/16 `visual_encoder`, a BERT `text_encoder` with cross-attention, `vision_proj`, `text_proj`)
plus `mlp.layers.{0,2,4,6,7}`. Our model uses transformers' BlipVisionModel (`vision`) and
BlipTextModel (`text`); BLIP's BERT and transformers' BLIP text model share names, the ViT does not.
"""

from __future__ import annotations

import re

import torch

# timm/BLIP ViT names -> transformers BlipVisionModel names (the first match wins).
_VISION_RULES: tuple[tuple[str, str], ...] = (
    (r"^cls_token$", "embeddings.class_embedding"),
    (r"^pos_embed$", "embeddings.position_embedding"),
    (r"^patch_embed\.proj\.", "embeddings.patch_embedding."),
    (r"^blocks\.(\d+)\.norm1\.", r"encoder.layers.\1.layer_norm1."),
    (r"^blocks\.(\d+)\.norm2\.", r"encoder.layers.\1.layer_norm2."),
    (r"^blocks\.(\d+)\.attn\.qkv\.", r"encoder.layers.\1.self_attn.qkv."),
    (r"^blocks\.(\d+)\.attn\.proj\.", r"encoder.layers.\1.self_attn.projection."),
    (r"^blocks\.(\d+)\.mlp\.", r"encoder.layers.\1.mlp."),
    (r"^norm\.", "post_layernorm."),
)

# Buffers the official checkpoint saved that are not weights: BERT's `position_ids` is
# arange(max_positions), rebuilt by the model (non-persistent in transformers), so it is dropped.
DROPPED_KEYS: frozenset[str] = frozenset({"blip.text_encoder.embeddings.position_ids"})


def _map_vision(name: str) -> str:
    for pattern, replacement in _VISION_RULES:
        mapped, count = re.subn(pattern, replacement, name)
        if count:
            return "vision." + mapped
    raise ValueError(f"unknown ImageReward vision key 'blip.visual_encoder.{name}'")


def map_official_key(key: str) -> str | None:
    """Our parameter name for an official checkpoint key; None for a dropped buffer."""
    if key in DROPPED_KEYS:
        return None
    if key.startswith("blip.visual_encoder."):
        return _map_vision(key.removeprefix("blip.visual_encoder."))
    if key.startswith("blip.text_encoder."):
        return "text." + key.removeprefix("blip.text_encoder.")
    for prefix in ("blip.vision_proj.", "blip.text_proj."):
        if key.startswith(prefix):
            return key.removeprefix("blip.")
    if key.startswith("mlp.layers."):
        return key
    raise ValueError(f"unknown ImageReward checkpoint key {key!r}")


def convert_official_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official state dict renamed for `ImageRewardModel` (a `module.` prefix is tolerated)."""
    converted: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        mapped = map_official_key(key.removeprefix("module."))
        if mapped is not None:
            converted[mapped] = tensor
    return converted


def official_key_shapes(
    vision_hidden: int,
    vision_layers: int,
    vision_intermediate: int,
    num_patches: int,
    patch_size: int,
    text_hidden: int,
    text_layers: int,
    text_intermediate: int,
    vocab_size: int,
    max_positions: int,
    embed_dim: int,
) -> dict[str, tuple[int, ...]]:
    """Every key of an official ImageReward state dict with its shape, for given model widths.

    Layout from BLIP's vit.py (timm ViT), med.py (BERT with cross-attention) and ImageReward.py
    (MLP 768-1024-128-64-16-1 with dropouts at indices 1, 3, 5). Used to write tiny checkpoints in
    the official format, so that tiny and real weights go through the same mapping.
    """
    shapes: dict[str, tuple[int, ...]] = {}
    v, t = "blip.visual_encoder.", "blip.text_encoder."

    def linear(name: str, out_features: int, in_features: int) -> None:
        shapes[name + ".weight"] = (out_features, in_features)
        shapes[name + ".bias"] = (out_features,)

    def norm(name: str, width: int) -> None:
        shapes[name + ".weight"] = (width,)
        shapes[name + ".bias"] = (width,)

    shapes[v + "cls_token"] = (1, 1, vision_hidden)
    shapes[v + "pos_embed"] = (1, num_patches + 1, vision_hidden)
    shapes[v + "patch_embed.proj.weight"] = (vision_hidden, 3, patch_size, patch_size)
    shapes[v + "patch_embed.proj.bias"] = (vision_hidden,)
    for i in range(vision_layers):
        block = f"{v}blocks.{i}."
        norm(block + "norm1", vision_hidden)
        linear(block + "attn.qkv", 3 * vision_hidden, vision_hidden)
        linear(block + "attn.proj", vision_hidden, vision_hidden)
        norm(block + "norm2", vision_hidden)
        linear(block + "mlp.fc1", vision_intermediate, vision_hidden)
        linear(block + "mlp.fc2", vision_hidden, vision_intermediate)
    norm(v + "norm", vision_hidden)

    shapes[t + "embeddings.position_ids"] = (1, max_positions)
    shapes[t + "embeddings.word_embeddings.weight"] = (vocab_size, text_hidden)
    shapes[t + "embeddings.position_embeddings.weight"] = (max_positions, text_hidden)
    norm(t + "embeddings.LayerNorm", text_hidden)
    for i in range(text_layers):
        layer = f"{t}encoder.layer.{i}."
        for attention, key_width in (("attention", text_hidden), ("crossattention", vision_hidden)):
            linear(f"{layer}{attention}.self.query", text_hidden, text_hidden)
            linear(f"{layer}{attention}.self.key", text_hidden, key_width)
            linear(f"{layer}{attention}.self.value", text_hidden, key_width)
            linear(f"{layer}{attention}.output.dense", text_hidden, text_hidden)
            norm(f"{layer}{attention}.output.LayerNorm", text_hidden)
        linear(layer + "intermediate.dense", text_intermediate, text_hidden)
        linear(layer + "output.dense", text_hidden, text_intermediate)
        norm(layer + "output.LayerNorm", text_hidden)

    linear("blip.vision_proj", embed_dim, vision_hidden)
    linear("blip.text_proj", embed_dim, text_hidden)
    widths = (text_hidden, 1024, 128, 64, 16, 1)
    for index, position in enumerate((0, 2, 4, 6, 7)):
        linear(f"mlp.layers.{position}", widths[index + 1], widths[index])
    return shapes
