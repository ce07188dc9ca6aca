"""A tiny Qwen-Image-shaped QwenImagePipeline and a LoRA in musubi-tuner's (kohya-style) layout.

- Pipeline: QwenImageTransformer2DModel (one dual-stream block, no guidance embedding), a
  Qwen2_5_VLForConditionalGeneration text encoder (a one-block vision tower beside the LLM, as the
  real one has), AutoencoderKLQwenImage (Wan-style 3D causal VAE) and Qwen-Image's exponential
  dynamic-shift flow-matching scheduler.
- Checkpoint: Qwen-Image's transformer file is in diffusers' own names (Qwen released it that way;
  Comfy-Org's `qwen_image_fp8_e4m3fn.safetensors` and Civitai fine-tunes keep them), which diffusers'
  `from_single_file` loads unconverted: the tiny checkpoint is the state dict itself.
- LoRA: musubi-tuner's (kohya-style) keys, `lora_unet_transformer_blocks_0_attn_to_q.lora_down.weight`
  with `lora_up` and `alpha`, which `_convert_non_diffusers_qwen_lora_to_diffusers` maps back.
"""

from __future__ import annotations

import torch

from diffagent.tiny.diffusion import TINY_SEED
from diffagent.tiny.kohya import ALPHA, lora_pair
from diffagent.tiny.qwen_text import QWEN_HIDDEN, build_qwen_tokenizer

LORA_TARGETS = ("attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0")
LORA_TARGETS += ("attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj", "attn.to_add_out")
LORA_TARGETS += ("img_mlp.net.0.proj", "img_mlp.net.2", "txt_mlp.net.0.proj", "txt_mlp.net.2")


def unit_variance_linears(module: torch.nn.Module) -> None:
    """Re-draw every Linear weight with std 1/sqrt(fan_in): at diffusers' default init a one-block
    random transformer barely reads the prompt, so prompts and LoRAs would hardly change images."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.weight.normal_(0.0, layer.in_features**-0.5)


def qwen25_vl_config(vocab_size: int):
    """Qwen2.5-VL at tiny widths: the LLM Qwen-Image reads, and a one-block vision tower."""
    from transformers import Qwen2_5_VLConfig

    text = {
        "vocab_size": vocab_size,
        "hidden_size": QWEN_HIDDEN,
        "intermediate_size": 2 * QWEN_HIDDEN,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        # Multimodal RoPE: the sections split half the head width (8 / 2) over time, height, width.
        "rope_scaling": {"type": "mrope", "mrope_section": [1, 1, 2]},
    }
    vision = {
        "depth": 1,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_heads": 2,
        "out_hidden_size": QWEN_HIDDEN,
        "fullatt_block_indexes": [0],
    }
    return Qwen2_5_VLConfig(text_config=text, vision_config=vision)


def build_tiny_qwen_image(tokenizer_dir=None):
    """A QwenImagePipeline with Qwen-Image's component classes and tiny widths (`tokenizer_dir`
    unused: the Qwen tokenizer is built in-process)."""
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImagePipeline,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(TINY_SEED + 4)
    tokenizer = build_qwen_tokenizer()
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=64,  # 16 latent channels packed 2x2
        out_channels=16,
        num_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=QWEN_HIDDEN,
        guidance_embeds=False,
        axes_dims_rope=(4, 6, 6),  # sums to attention_head_dim
    )
    unit_variance_linears(transformer)
    # Qwen/Qwen-Image's scheduler_config.json.
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_image_seq_len=256,
        base_shift=0.5,
        max_image_seq_len=8192,
        max_shift=0.9,
        shift=1.0,
        shift_terminal=0.02,
        time_shift_type="exponential",
        use_dynamic_shifting=True,
    )
    return QwenImagePipeline(
        scheduler=scheduler,
        vae=AutoencoderKLQwenImage(base_dim=8, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1),
        text_encoder=Qwen2_5_VLForConditionalGeneration(qwen25_vl_config(len(tokenizer))),
        tokenizer=tokenizer,
        transformer=transformer,
    )


def musubi_lora(transformer, seed: int) -> dict[str, torch.Tensor]:
    """A random rank-4 LoRA on every block's attention and MLP Linears in musubi-tuner's keys."""
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for name, module in sorted(transformer.named_modules()):
        if isinstance(module, torch.nn.Linear) and name.endswith(LORA_TARGETS):
            stem = "lora_unet_" + name.replace(".", "_")
            down, up = lora_pair(generator, module.in_features, module.out_features)
            out[f"{stem}.lora_down.weight"], out[f"{stem}.lora_up.weight"] = down, up
            out[f"{stem}.alpha"] = torch.tensor(ALPHA)
    return out
