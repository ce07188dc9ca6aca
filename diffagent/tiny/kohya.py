"""Random LoRAs in kohya-ss' key layout (what Civitai serves), for the tiny pipelines.

Keys are `lora_<part>_<module path with "_">.{lora_down.weight, lora_up.weight, alpha}`, the
layout diffusers' `load_lora_weights` converts (`_convert_non_diffusers_lora_to_diffusers`,
`_maybe_map_sgm_blocks_to_diffusers`, `_convert_kohya_flux_lora_to_diffusers`):
- SD 1.x: kohya trains on the diffusers UNet, so UNet names are diffusers' (`lora_unet_down_blocks_1_
  attentions_0_...`); the text encoder is `lora_te_text_model_encoder_layers_N_self_attn_q_proj`.
- SDXL: kohya trains on the sgm UNet, so UNet names are LDM's (`lora_unet_input_blocks_4_1_...`,
  from `tiny.ldm.unet_key`); the text encoders are `lora_te1_*` and `lora_te2_*`.
- Flux: BFL's names (`lora_unet_double_blocks_0_img_attn_qkv`: one down for the fused q/k/v, an
  up three outputs tall). Single blocks' `linear1` is left out: diffusers splits it with Flux.1's
  full widths hard-coded (3072/12288), which a tiny model cannot have.
A LyCORIS LoCon adds the resnets' 3x3 convolutions (`lora_down` a conv, `lora_up` a 1x1 conv).
"""

from __future__ import annotations

import torch

from diffagent.tiny.ldm import unet_key

RANK = 4
ALPHA = 2.0  # alpha / rank scales every update, as kohya files do (alpha is often rank / 2)
UNET_ATTENTION = ("to_q", "to_k", "to_v", "to_out.0")
TEXT_ATTENTION = ("q_proj", "k_proj", "v_proj", "out_proj")


def lora_pair(generator: torch.Generator, fan_in: int, fan_out: int, kernel: tuple[int, ...] = ()):
    """(down, up): down scaled to unit output variance, up large enough to change an image."""
    receptive = fan_in * (kernel[0] * kernel[1] if kernel else 1)
    down = torch.randn((RANK, fan_in, *kernel), generator=generator) / receptive**0.5
    up = torch.randn((fan_out, RANK, *((1,) * len(kernel))), generator=generator)
    return down.contiguous(), up.contiguous()


def peft_lora(transformer, seed: int, targets: tuple[str, ...], prefix: str) -> dict[str, torch.Tensor]:
    """A random rank-4 LoRA on every Linear of `transformer` whose name ends with one of `targets`,
    in the PEFT-style keys LoRA trainers write: `{prefix}{module}.lora_A.weight` and `.lora_B`
    (ai-toolkit's prefix `diffusion_model.`, diffusers' and SimpleTuner's `transformer.`)."""
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for name, module in sorted(transformer.named_modules()):
        if isinstance(module, torch.nn.Linear) and name.endswith(targets):
            down, up = lora_pair(generator, module.in_features, module.out_features)
            out[f"{prefix}{name}.lora_A.weight"] = down
            out[f"{prefix}{name}.lora_B.weight"] = up
    return out


def _linear(generator: torch.Generator, module: torch.nn.Linear, outputs: int = 1):
    """A pair for a Linear; `outputs` > 1 for kohya's fused layers (q, k, v: one up, 3x as tall)."""
    return lora_pair(generator, module.in_features, outputs * module.out_features)


def _add(out: dict, name: str, pair: tuple[torch.Tensor, torch.Tensor]) -> None:
    out[f"{name}.lora_down.weight"], out[f"{name}.lora_up.weight"] = pair
    out[f"{name}.alpha"] = torch.tensor(ALPHA)


def _text_encoder(out: dict, encoder, part: str, generator: torch.Generator) -> None:
    for name, module in sorted(encoder.named_modules()):
        if isinstance(module, torch.nn.Linear) and name.endswith(TEXT_ATTENTION):
            path = ("text_model." + name.removeprefix("text_model.")).replace(".", "_")
            _add(out, f"lora_{part}_{path}", _linear(generator, module))


def _unet(out: dict, unet, sgm: bool, locon: bool, generator: torch.Generator) -> None:
    config = unet.config
    with_attention = {i for i, kind in enumerate(config["up_block_types"]) if "CrossAttn" in kind}
    for name, module in sorted(unet.named_modules()):
        linear = isinstance(module, torch.nn.Linear) and ".attn" in name and name.endswith(UNET_ATTENTION)
        conv = locon and isinstance(module, torch.nn.Conv2d) and name.endswith((".conv1", ".conv2"))
        if not (linear or conv):
            continue
        path = name + ".weight"
        if sgm:
            path = unet_key(path, config["layers_per_block"], with_attention)
        kohya = "lora_unet_" + path.removesuffix(".weight").replace(".", "_")
        if linear:
            _add(out, kohya, _linear(generator, module))
        else:
            pair = lora_pair(generator, module.in_channels, module.out_channels, module.kernel_size)
            _add(out, kohya, pair)


def _flux(out: dict, transformer, generator: torch.Generator) -> None:
    for index, block in enumerate(transformer.transformer_blocks):
        attn = block.attn
        stem = f"lora_unet_double_blocks_{index}"
        _add(out, f"{stem}_img_attn_qkv", _linear(generator, attn.to_q, outputs=3))
        _add(out, f"{stem}_txt_attn_qkv", _linear(generator, attn.add_q_proj, outputs=3))
        _add(out, f"{stem}_img_attn_proj", _linear(generator, attn.to_out[0]))
        _add(out, f"{stem}_txt_attn_proj", _linear(generator, attn.to_add_out))
    for index, block in enumerate(transformer.single_transformer_blocks):
        _add(out, f"lora_unet_single_blocks_{index}_linear2", _linear(generator, block.proj_out))


def flux_transformer_lora(transformer, seed: int) -> dict[str, torch.Tensor]:
    """A random rank-4 kohya LoRA on a Flux.1-shaped transformer's blocks (Flux.1, Chroma)."""
    out: dict[str, torch.Tensor] = {}
    _flux(out, transformer, torch.Generator().manual_seed(seed))
    return out


def kohya_lora(pipe, architecture: str, seed: int, locon: bool = False) -> dict[str, torch.Tensor]:
    """A random rank-4 LoRA (LoCon with `locon`) for a tiny pipeline of `architecture`, in kohya keys."""
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    if architecture == "flux":
        if locon:
            raise ValueError("no LoCon for flux: its transformer has no convolutions")
        _flux(out, pipe.transformer, generator)
    elif architecture == "sd1":
        _unet(out, pipe.unet, sgm=False, locon=locon, generator=generator)
        _text_encoder(out, pipe.text_encoder, "te", generator)
    elif architecture == "sdxl":
        _unet(out, pipe.unet, sgm=True, locon=locon, generator=generator)
        _text_encoder(out, pipe.text_encoder, "te1", generator)
        _text_encoder(out, pipe.text_encoder_2, "te2", generator)
    else:
        raise ValueError(f"unknown architecture {architecture!r}; expected sd1, sdxl or flux")
    return out
