"""diffusers -> original (LDM / A1111) single-file key layout: the inverse of what diffusers'
`from_single_file` converts (`convert_ldm_unet_checkpoint`, `convert_ldm_vae_checkpoint`,
`convert_ldm_clip_checkpoint`, `convert_open_clip_checkpoint`), so a tiny checkpoint written with
it loads through exactly the path a Civitai checkpoint takes.

A checkpoint is one flat state dict: `model.diffusion_model.*` (UNet), `first_stage_model.*`
(VAE), and the text encoders under `cond_stage_model.transformer.*` (SD 1.x) or
`conditioner.embedders.0.transformer.*` + `conditioner.embedders.1.model.*` (SDXL, the second in
OpenCLIP's layout: fused q/k/v `in_proj`, `resblocks`, transposed `text_projection`).
"""

from __future__ import annotations

import re

import torch

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
SD1_CLIP_PREFIX = "cond_stage_model.transformer.text_model."
SDXL_CLIP_PREFIX = "conditioner.embedders.0.transformer.text_model."
SDXL_OPEN_CLIP_PREFIX = "conditioner.embedders.1.model."

_UNET_TOP = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "add_embedding.linear_1": "label_emb.0.0",
    "add_embedding.linear_2": "label_emb.0.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
_UNET_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}
_VAE_RESNET = {"conv_shortcut": "nin_shortcut"}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _resnet(rest: str, names: dict[str, str]) -> str:
    head, _, tail = rest.partition(".")
    return f"{names.get(head, head)}.{tail}"


def unet_key(key: str, layers_per_block: int, up_blocks_with_attention: set[int]) -> str:
    """One diffusers UNet2DConditionModel key -> its LDM name (without `model.diffusion_model.`).

    LDM numbers every layer of the down path `input_blocks.N` (N = 1 + block * (layers + 1) +
    layer, the downsampler taking the last slot of its block) and of the up path
    `output_blocks.N` (N = block * (layers + 1) + layer); `.0` is the resnet, `.1` the attention,
    and an up block's upsampler follows its attention (`.2`) or its resnet (`.1`).
    """
    module, _, param = key.rpartition(".")
    if module in _UNET_TOP:
        return f"{_UNET_TOP[module]}.{param}"
    stride = layers_per_block + 1
    if match := re.fullmatch(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", key):
        block, kind, layer, rest = int(match[1]), match[2], int(match[3]), match[4]
        index = 1 + block * stride + layer
        return (
            f"input_blocks.{index}.0.{_resnet(rest, _UNET_RESNET)}"
            if kind == "resnets"
            else (f"input_blocks.{index}.1.{rest}")
        )
    if match := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
        return f"input_blocks.{1 + int(match[1]) * stride + layers_per_block}.0.op.{match[2]}"
    if match := re.fullmatch(r"mid_block\.(resnets|attentions)\.(\d+)\.(.+)", key):
        kind, layer, rest = match[1], int(match[2]), match[3]
        if kind == "attentions":
            return f"middle_block.1.{rest}"
        return f"middle_block.{2 * layer}.{_resnet(rest, _UNET_RESNET)}"
    if match := re.fullmatch(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", key):
        block, kind, layer, rest = int(match[1]), match[2], int(match[3]), match[4]
        index = block * stride + layer
        return (
            f"output_blocks.{index}.0.{_resnet(rest, _UNET_RESNET)}"
            if kind == "resnets"
            else (f"output_blocks.{index}.1.{rest}")
        )
    if match := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
        block = int(match[1])
        slot = 2 if block in up_blocks_with_attention else 1
        return f"output_blocks.{block * stride + layers_per_block}.{slot}.conv.{match[2]}"
    raise ValueError(f"no LDM name for UNet key {key!r}")


def unet_to_ldm(state_dict: dict[str, torch.Tensor], config) -> dict[str, torch.Tensor]:
    """A diffusers UNet state dict -> `model.diffusion_model.*` keys."""
    with_attention = {i for i, kind in enumerate(config["up_block_types"]) if "CrossAttn" in kind}
    layers = config["layers_per_block"]
    return {UNET_PREFIX + unet_key(key, layers, with_attention): value for key, value in state_dict.items()}


def vae_key(key: str, num_up_blocks: int) -> str:
    """One diffusers AutoencoderKL key -> its LDM name (without `first_stage_model.`).
    LDM numbers the decoder's up blocks from the bottom: diffusers' up block i is LDM's n-1-i."""
    if match := re.fullmatch(r"(encoder|decoder)\.conv_norm_out\.(.+)", key):
        return f"{match[1]}.norm_out.{match[2]}"
    if match := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        return f"encoder.down.{match[1]}.block.{match[2]}.{_resnet(match[3], _VAE_RESNET)}"
    if match := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
        return f"encoder.down.{match[1]}.downsample.conv.{match[2]}"
    if match := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        block = num_up_blocks - 1 - int(match[1])
        return f"decoder.up.{block}.block.{match[2]}.{_resnet(match[3], _VAE_RESNET)}"
    if match := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
        return f"decoder.up.{num_up_blocks - 1 - int(match[1])}.upsample.conv.{match[2]}"
    if match := re.fullmatch(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)", key):
        return f"{match[1]}.mid.block_{int(match[2]) + 1}.{_resnet(match[3], _VAE_RESNET)}"
    if match := re.fullmatch(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.+)\.(weight|bias)", key):
        return f"{match[1]}.mid.attn_1.{_VAE_ATTENTION[match[2]]}.{match[3]}"
    return key  # conv_in, conv_out, quant_conv, post_quant_conv keep their names


def vae_to_ldm(state_dict: dict[str, torch.Tensor], config) -> dict[str, torch.Tensor]:
    """A diffusers VAE state dict -> `first_stage_model.*`; attention projections become the 1x1
    convolutions LDM stores them as."""
    out = {}
    num_up = len(config["up_block_types"])
    for key, value in state_dict.items():
        name = vae_key(key, num_up)
        if ".mid.attn_1." in name and name.endswith(".weight") and ".norm." not in name:
            value = value[:, :, None, None]
        out[VAE_PREFIX + name] = value
    return out


def clip_to_ldm(state_dict: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """A transformers CLIPTextModel state dict -> `<prefix>*` (HF layout under `text_model.`)."""
    return {prefix + key.removeprefix("text_model."): value for key, value in state_dict.items()}


def open_clip_to_ldm(state_dict: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """A CLIPTextModelWithProjection state dict -> OpenCLIP's layout under `prefix`: q, k and v
    fused into `attn.in_proj_*`, `resblocks`, and `text_projection` stored transposed."""
    out: dict[str, torch.Tensor] = {}
    renames = {
        "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
        "text_model.embeddings.position_embedding.weight": "positional_embedding",
        "text_model.final_layer_norm.weight": "ln_final.weight",
        "text_model.final_layer_norm.bias": "ln_final.bias",
    }
    layer_parts = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "mlp.fc1": "mlp.c_fc"}
    layer_parts["mlp.fc2"] = "mlp.c_proj"
    layer_key = re.compile(r"text_model\.encoder\.layers\.(\d+)\.")
    layers = {int(m[1]) for key in state_dict if (m := layer_key.match(key))}
    for key, value in state_dict.items():
        if key in renames:
            out[prefix + renames[key]] = value
        elif key == "text_projection.weight":
            out[prefix + "text_projection"] = value.T.contiguous()
    for layer in sorted(layers):
        source, target = f"text_model.encoder.layers.{layer}.", f"{prefix}transformer.resblocks.{layer}."
        for part in ("weight", "bias"):
            fused = [state_dict[f"{source}self_attn.{name}_proj.{part}"] for name in ("q", "k", "v")]
            out[f"{target}attn.in_proj_{part}"] = torch.cat(fused, dim=0)
            out[f"{target}attn.out_proj.{part}"] = state_dict[f"{source}self_attn.out_proj.{part}"]
            for old, new in layer_parts.items():
                out[f"{target}{new}.{part}"] = state_dict[f"{source}{old}.{part}"]
    return out


def pipeline_to_ldm(pipe) -> dict[str, torch.Tensor]:
    """A StableDiffusion(XL)Pipeline's UNet, VAE and text encoders as one LDM checkpoint."""
    tensors = unet_to_ldm(pipe.unet.state_dict(), pipe.unet.config)
    tensors.update(vae_to_ldm(pipe.vae.state_dict(), pipe.vae.config))
    if getattr(pipe, "text_encoder_2", None) is None:
        tensors.update(clip_to_ldm(pipe.text_encoder.state_dict(), SD1_CLIP_PREFIX))
    else:
        tensors.update(clip_to_ldm(pipe.text_encoder.state_dict(), SDXL_CLIP_PREFIX))
        tensors.update(open_clip_to_ldm(pipe.text_encoder_2.state_dict(), SDXL_OPEN_CLIP_PREFIX))
    return {key: value.detach().contiguous() for key, value in tensors.items()}
