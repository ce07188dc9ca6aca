"""A tiny Chroma-shaped ChromaPipeline, its transformer file, and a LoRA in kohya's layout.

- Pipeline: ChromaTransformer2DModel (one double- and one single-stream block; Chroma replaces
  Flux.1's per-block modulation with one small `distilled_guidance_layer` approximator, and drops
  CLIP: T5 is its only text encoder), a T5 encoder, Flux.1's 16-channel autoencoder (Chroma ships
  `ae.safetensors`) and Flux's dynamic-shift flow-matching Euler scheduler.
- Checkpoint: the perturbed transformer alone, in diffusers' key names. Not in Chroma's original
  (BFL-style `double_blocks.N.*`) names: diffusers' `convert_chroma_transformer_checkpoint_to_diffusers`
  hard-codes Chroma's 3072 widths (as Flux.1's converter does, see `tiny.flux`), which a tiny model
  cannot have; `from_single_file` loads diffusers' names without conversion.
- LoRA: kohya's (sd-scripts trains Chroma as a Flux variant: BFL module names,
  `lora_unet_double_blocks_0_img_attn_qkv`), which diffusers' Flux LoRA loader converts
  (`tiny.kohya.flux_transformer_lora`: single blocks' `linear1` left out, its split is 3072-wide).
"""

from __future__ import annotations

from diffagent.tiny.diffusion import TINY_SEED
from diffagent.tiny.flux import T5_HIDDEN, build_t5_tokenizer, t5_config_kwargs


def build_tiny_chroma(tokenizer_dir=None):
    """A ChromaPipeline with Chroma's component classes and tiny widths (`tokenizer_dir` unused: the
    T5 tokenizer is built in-process)."""
    import torch
    from diffusers import ChromaPipeline, ChromaTransformer2DModel, FlowMatchEulerDiscreteScheduler
    from transformers import T5Config, T5EncoderModel

    from diffagent.tiny.z_image import tiny_flux1_vae

    torch.manual_seed(TINY_SEED + 10)
    tokenizer = build_t5_tokenizer()
    transformer = ChromaTransformer2DModel(
        patch_size=1,
        in_channels=64,  # 16 latent channels packed 2x2
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_HIDDEN,
        axes_dims_rope=(4, 6, 6),  # sums to attention_head_dim
        approximator_num_channels=16,
        approximator_hidden_dim=32,
        approximator_layers=1,
    )
    t5 = T5EncoderModel(T5Config(**t5_config_kwargs(len(tokenizer), T5_HIDDEN)))
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15
    )
    parts = {"vae": tiny_flux1_vae(), "text_encoder": t5, "tokenizer": tokenizer}
    return ChromaPipeline(scheduler=scheduler, transformer=transformer, **parts)


def kohya_lora(transformer, seed: int):
    """A random kohya-layout LoRA on the Chroma transformer's blocks (its blocks are Flux.1's)."""
    from diffagent.tiny.kohya import flux_transformer_lora

    return flux_transformer_lora(transformer, seed)
