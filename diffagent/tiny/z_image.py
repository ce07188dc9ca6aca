"""A tiny Z-Image-shaped ZImagePipeline, its transformer in the original single-file layout, and a
LoRA in ai-toolkit's layout (what Civitai serves for Z-Image).

- Pipeline: ZImageTransformer2DModel (one main, one noise-refiner and one context-refiner block),
  a Qwen3Model text encoder (Z-Image reads its second-to-last hidden state), a 16-channel
  AutoencoderKL with Flux.1's VAE scaling (Z-Image ships Flux.1's `ae.safetensors`) and a
  static-shift flow-matching Euler scheduler (Z-Image-Turbo's shift 3).
- Checkpoint: the transformer alone in Tongyi-MAI's original names (`z_image_turbo_bf16.safetensors`
  on Comfy-Org's repository, and Civitai fine-tunes), which diffusers'
  `convert_z_image_transformer_checkpoint_to_diffusers` maps back: fused `attention.qkv`,
  `attention.out`, `q_norm`/`k_norm`, `x_embedder`, `final_layer`.
- LoRA: ai-toolkit's (ostris), the trainer most Civitai Z-Image LoRAs come from: PEFT
  `lora_A`/`lora_B` pairs on diffusers module names under `diffusion_model.`, no alpha.
"""

from __future__ import annotations

import torch

from diffagent.tiny.diffusion import TINY_SEED
from diffagent.tiny.kohya import peft_lora
from diffagent.tiny.qwen_text import QWEN_HIDDEN, build_qwen_tokenizer, qwen3_config

# Flux.1's VAE latent statistics, which Z-Image's VAE config carries.
FLUX1_VAE_SCALING, FLUX1_VAE_SHIFT = 0.3611, 0.1159
LORA_TARGETS = ("attention.to_q", "attention.to_k", "attention.to_v", "attention.to_out.0")
LORA_TARGETS += ("feed_forward.w1", "feed_forward.w2", "feed_forward.w3")


def tiny_flux1_vae():
    """A 16-latent-channel AutoencoderKL with Flux.1's scaling and no quant convs, 1/8 the side."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(8, 16, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=16,
        norm_num_groups=8,
        sample_size=64,
        scaling_factor=FLUX1_VAE_SCALING,
        shift_factor=FLUX1_VAE_SHIFT,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )


def build_tiny_z_image(tokenizer_dir=None):
    """A ZImagePipeline with Z-Image's component classes and tiny widths (`tokenizer_dir` unused:
    the Qwen tokenizer is built in-process)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline, ZImageTransformer2DModel
    from transformers import Qwen3Model

    torch.manual_seed(TINY_SEED + 3)
    tokenizer = build_qwen_tokenizer()
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=1,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        cap_feat_dim=QWEN_HIDDEN,
        axes_dims=[4, 6, 6],  # sums to the head width, dim / n_heads
        axes_lens=[256, 64, 64],
    )
    return ZImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=tiny_flux1_vae(),
        text_encoder=Qwen3Model(qwen3_config(len(tokenizer))),
        tokenizer=tokenizer,
        transformer=transformer,
    )


# diffusers name -> original name: the inverse of the converter's renames.
_ORIGINAL_PREFIXES = {"all_final_layer.2-1.": "final_layer.", "all_x_embedder.2-1.": "x_embedder."}
_ORIGINAL_PARTS = {
    ".attention.to_out.0.": ".attention.out.",
    ".attention.norm_q.": ".attention.q_norm.",
    ".attention.norm_k.": ".attention.k_norm.",
}
_QKV = (".attention.to_q.weight", ".attention.to_k.weight", ".attention.to_v.weight")


def transformer_to_original(state_dict: dict) -> dict:
    """A ZImageTransformer2DModel state dict -> Z-Image's original single-file keys, each block's
    q, k and v stacked into one `attention.qkv.weight` (q rows first, as the converter splits)."""
    out: dict = {}
    for key, value in state_dict.items():
        if key.endswith(_QKV):
            if key.endswith(_QKV[0]):
                stem = key.removesuffix(_QKV[0])
                parts = [state_dict[stem + suffix] for suffix in _QKV]
                out[f"{stem}.attention.qkv.weight"] = torch.cat(parts, dim=0)
            continue
        for old, new in _ORIGINAL_PREFIXES.items():
            if key.startswith(old):
                key = new + key.removeprefix(old)
        for old, new in _ORIGINAL_PARTS.items():
            key = key.replace(old, new)
        out[key] = value
    return {key: value.contiguous() for key, value in out.items()}


def ai_toolkit_lora(transformer, seed: int) -> dict[str, torch.Tensor]:
    """A random rank-4 LoRA on every block's attention and feed-forward Linears, in ai-toolkit's
    keys (`diffusion_model.layers.0.attention.to_q.lora_A.weight`)."""
    return peft_lora(transformer, seed, LORA_TARGETS, "diffusion_model.")
