"""Which key layout a .safetensors model file is in, read from its JSON header alone."""

from __future__ import annotations

import json
import struct
from pathlib import Path

MAX_HEADER = 100_000_000


def safetensors_keys(path: Path) -> list[str]:
    """The tensor names in a safetensors file (its 8-byte length, then a JSON header)."""
    with Path(path).open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{path} is too short to be a safetensors file")
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER:
            raise ValueError(f"{path} is not a safetensors file (header length {length})")
        try:
            header = json.loads(handle.read(length))
        except ValueError as error:
            raise ValueError(f"{path} is not a safetensors file: {error}") from error
    return [key for key in header if key != "__metadata__"]


def layout_of(keys: list[str]) -> str:
    """`ldm-checkpoint` (A1111 single file), `kohya-lora`, `lycoris-locon` (kohya names with
    convolution layers), `flux-transformer` (diffusers' FluxTransformer2DModel names),
    `diffusers-lora` (peft names), the companions' `t5-encoder` (transformers' T5EncoderModel),
    `clip-text-encoder` (transformers' CLIPTextModel) and `ldm-vae` (an LDM / BFL autoencoder alone,
    as Flux's ae.safetensors), or `unknown`."""
    if any(key.startswith("model.diffusion_model.") for key in keys):
        return "ldm-checkpoint"
    if any(key.startswith(("lora_unet_", "lora_te")) for key in keys):
        convolutions = ("_conv1.", "_conv2.", "_in_layers_2.", "_out_layers_3.")
        return "lycoris-locon" if any(part in key for key in keys for part in convolutions) else "kohya-lora"
    if "x_embedder.weight" in keys and any(key.startswith("transformer_blocks.") for key in keys):
        return "flux-transformer"
    if any(".lora_A." in key or ".lora_B." in key for key in keys):
        return "diffusers-lora"
    if any(key.startswith("encoder.block.") for key in keys):
        return "t5-encoder"
    if any(key.startswith("text_model.encoder.layers.") for key in keys):
        return "clip-text-encoder"
    starts = {key.split(".", 2)[0] + "." + key.split(".", 2)[1] for key in keys if key.count(".") >= 2}
    if {"encoder.down", "decoder.up"} <= starts:
        return "ldm-vae"
    return "unknown"


def file_layout(path: Path) -> str:
    return layout_of(safetensors_keys(path))
