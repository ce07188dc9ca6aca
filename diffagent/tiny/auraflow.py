"""A tiny AuraFlow-shaped AuraFlowPipeline (AuraFlow, Pony V7), its transformer in AuraFlow's
original single-file layout, and a LoRA in diffusers' layout (SimpleTuner's, the trainer of Pony V7
LoRAs; diffusers' AuraFlow loader converts no other).

- Pipeline: AuraFlowTransformer2DModel (one MMDiT and one single-stream block, register tokens,
  learned positional embedding), a UMT5 encoder (AuraFlow's Pile-T5), SDXL's 4-channel VAE
  (AuraFlow ships it, scaling 0.13025) and a static-shift flow-matching Euler scheduler.
- Checkpoint: the transformer alone in fal's original names (`double_layers.N.attn.w2q`,
  `single_layers.N.modCX.1`, `cond_seq_linear`, `init_x_linear`, `modF.1` with its halves in
  (shift, scale) order), which diffusers' `convert_auraflow_transformer_checkpoint_to_diffusers`
  maps back, reading every width from the file.
"""

from __future__ import annotations

import torch

from diffagent.tiny.diffusion import TINY_SEED, tiny_vae
from diffagent.tiny.flux import T5_HIDDEN, build_t5_tokenizer, t5_config_kwargs
from diffagent.tiny.kohya import peft_lora

SDXL_VAE_SCALING = 0.13025
LORA_TARGETS = tuple(
    f"attn.{name}" for name in ("to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj")
)
LORA_TARGETS += ("attn.add_v_proj", "attn.to_add_out", "ff.linear_1", "ff.out_projection")


def build_tiny_auraflow(tokenizer_dir=None):
    """An AuraFlowPipeline with AuraFlow's component classes and tiny widths (`tokenizer_dir` unused:
    the T5 tokenizer is built in-process)."""
    from diffusers import AuraFlowPipeline, AuraFlowTransformer2DModel, FlowMatchEulerDiscreteScheduler
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(TINY_SEED + 11)
    tokenizer = build_t5_tokenizer()
    transformer = AuraFlowTransformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=4,
        num_mmdit_layers=1,
        num_single_dit_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_HIDDEN,
        caption_projection_dim=32,  # the inner width: heads x head width
        out_channels=4,
        pos_embed_max_size=64,
    )
    encoder = UMT5EncoderModel(UMT5Config(**t5_config_kwargs(len(tokenizer), T5_HIDDEN)))
    return AuraFlowPipeline(
        tokenizer=tokenizer,
        text_encoder=encoder,
        vae=tiny_vae(scaling_factor=SDXL_VAE_SCALING),
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=1.73),  # AuraFlow v0.3's ComfyUI shift
    )


_TOP = {
    "register_tokens": "register_tokens",
    "time_step_proj.linear_1.weight": "t_embedder.mlp.0.weight",
    "time_step_proj.linear_1.bias": "t_embedder.mlp.0.bias",
    "time_step_proj.linear_2.weight": "t_embedder.mlp.2.weight",
    "time_step_proj.linear_2.bias": "t_embedder.mlp.2.bias",
    "context_embedder.weight": "cond_seq_linear.weight",
    "proj_out.weight": "final_linear.weight",
    "pos_embed.pos_embed": "positional_encoding",
    "pos_embed.proj.weight": "init_x_linear.weight",
    "pos_embed.proj.bias": "init_x_linear.bias",
}
_FF = {"linear_1": "c_fc1", "linear_2": "c_fc2", "out_projection": "c_proj"}
_JOINT = {
    **{f"ff.{new}": f"mlpX.{old}" for new, old in _FF.items()},
    **{f"ff_context.{new}": f"mlpC.{old}" for new, old in _FF.items()},
    "norm1.linear": "modX.1",
    "norm1_context.linear": "modC.1",
    "attn.to_q": "attn.w2q",
    "attn.to_k": "attn.w2k",
    "attn.to_v": "attn.w2v",
    "attn.to_out.0": "attn.w2o",
    "attn.add_q_proj": "attn.w1q",
    "attn.add_k_proj": "attn.w1k",
    "attn.add_v_proj": "attn.w1v",
    "attn.to_add_out": "attn.w1o",
}
_SINGLE = {
    **{f"ff.{new}": f"mlp.{old}" for new, old in _FF.items()},
    "norm1.linear": "modCX.1",
    "attn.to_q": "attn.w1q",
    "attn.to_k": "attn.w1k",
    "attn.to_v": "attn.w1v",
    "attn.to_out.0": "attn.w1o",
}
_BLOCKS = {
    "joint_transformer_blocks": ("double_layers", _JOINT),
    "single_transformer_blocks": ("single_layers", _SINGLE),
}


def transformer_to_original(state_dict: dict) -> dict:
    """An AuraFlowTransformer2DModel state dict -> AuraFlow's original single-file keys (every
    Linear is bias-free but the embedders'). Raises ValueError naming a key it has no name for."""
    out: dict = {}
    for key, value in state_dict.items():
        head, _, rest = key.partition(".")
        if key in _TOP:
            out[_TOP[key]] = value
        elif key == "norm_out.linear.weight":  # fal's final modulation emits (shift, scale)
            scale, shift = value.chunk(2, dim=0)
            out["modF.1.weight"] = torch.cat([shift, scale], dim=0)
        elif head in _BLOCKS and rest.endswith(".weight"):
            index, _, module = rest.removesuffix(".weight").partition(".")
            name, table = _BLOCKS[head]
            if module not in table:
                raise ValueError(f"no AuraFlow name for transformer key {key!r}")
            out[f"{name}.{index}.{table[module]}.weight"] = value
        else:
            raise ValueError(f"no AuraFlow name for transformer key {key!r}")
    return {key: value.contiguous() for key, value in out.items()}


def diffusers_lora(transformer, seed: int) -> dict[str, torch.Tensor]:
    """A random rank-4 LoRA on every block's attention projections and MLPs, in diffusers' keys
    (`transformer.joint_transformer_blocks.0.attn.to_q.lora_A.weight`)."""
    return peft_lora(transformer, seed, LORA_TARGETS, "transformer.")
