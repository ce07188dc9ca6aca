"""Tiny Flux.2 [klein]-shaped Flux2KleinPipelines (4B- and 9B-like widths), the transformer in BFL's
single-file layout, and a LoRA in ai-toolkit's layout (what Civitai serves for Flux.2).

- Pipeline: Flux2Transformer2DModel (one double- and one single-stream block, no guidance
  embedding: Klein takes true CFG, the 4-step distilled ones none), a Qwen3ForCausalLM text encoder
  as deep as Klein's hidden-state taps (layers 9, 18, 27), AutoencoderKLFlux2 (32 latent channels,
  2x2 patches, batch-norm statistics) and a dynamic-shift flow-matching Euler scheduler. The 4B and
  9B tiny pipelines differ in widths, as the real ones (Qwen3-4B / Qwen3-8B, 3072 / 4096 wide), so
  a LoRA of one does not load on the other.
- Checkpoint: the transformer alone in BFL's names (`flux-2-klein-4b.safetensors`: `double_blocks.N`
  with fused `qkv`, `single_blocks.N.linear1`, `img_in`, `txt_in`, `time_in`,
  `double_stream_modulation_img.lin`, `final_layer`), which diffusers'
  `convert_flux2_transformer_checkpoint_to_diffusers` maps back. Unlike Flux.1's converter it
  splits the fused tensors by their own shapes, so tiny widths convert.
- LoRA: ai-toolkit's, BFL module names under `diffusion_model.` with PEFT `lora_A`/`lora_B`, what
  `_convert_non_diffusers_flux2_lora_to_diffusers` maps (q/k/v share one `lora_A`).
"""

from __future__ import annotations

import torch

from diffagent.tiny.diffusion import TINY_SEED
from diffagent.tiny.kohya import lora_pair
from diffagent.tiny.qwen_text import build_qwen_tokenizer, qwen3_config

KLEIN_TEXT_LAYERS = 28  # Klein stacks Qwen3's hidden states 9, 18 and 27
# Tiny widths of the two Klein sizes: (text encoder hidden, attention heads of 16).
KLEIN_WIDTHS = {"4b": (32, 2), "9b": (48, 3)}


def tiny_flux2_vae():
    from diffusers import AutoencoderKLFlux2

    return AutoencoderKLFlux2(
        block_out_channels=(8, 16, 16, 16), layers_per_block=1, latent_channels=32, norm_num_groups=8
    )


def flux2_transformer(text_hidden: int, heads: int, guidance: bool):
    """A Flux2Transformer2DModel reading three stacked text layers (3 x `text_hidden`)."""
    from diffusers import Flux2Transformer2DModel

    return Flux2Transformer2DModel(
        patch_size=1,
        in_channels=128,  # 32 latent channels packed 2x2
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=heads,
        joint_attention_dim=3 * text_hidden,
        timestep_guidance_channels=32,
        axes_dims_rope=(4, 4, 4, 4),  # sums to attention_head_dim
        guidance_embeds=guidance,
    )


def flux2_scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True)


def build_tiny_flux2_klein(size: str):
    """A Flux2KleinPipeline of Klein `size` ("4b" or "9b") at tiny widths."""
    from diffusers import Flux2KleinPipeline
    from transformers import Qwen3ForCausalLM

    text_hidden, heads = KLEIN_WIDTHS[size]
    torch.manual_seed(TINY_SEED + 5 + list(KLEIN_WIDTHS).index(size))
    tokenizer = build_qwen_tokenizer()
    return Flux2KleinPipeline(
        scheduler=flux2_scheduler(),
        vae=tiny_flux2_vae(),
        text_encoder=Qwen3ForCausalLM(qwen3_config(len(tokenizer), text_hidden, KLEIN_TEXT_LAYERS)),
        tokenizer=tokenizer,
        transformer=flux2_transformer(text_hidden, heads, guidance=False),
        is_distilled=False,  # the base models' CFG path; the distilled ones render at CFG 1 (none)
    )


# diffusers name -> BFL name: the inverse of the converter's renames.
_TOP = {
    "x_embedder": "img_in",
    "context_embedder": "txt_in",
    "time_guidance_embed.timestep_embedder.linear_1": "time_in.in_layer",
    "time_guidance_embed.timestep_embedder.linear_2": "time_in.out_layer",
    "time_guidance_embed.guidance_embedder.linear_1": "guidance_in.in_layer",
    "time_guidance_embed.guidance_embedder.linear_2": "guidance_in.out_layer",
    "double_stream_modulation_img.linear": "double_stream_modulation_img.lin",
    "double_stream_modulation_txt.linear": "double_stream_modulation_txt.lin",
    "single_stream_modulation.linear": "single_stream_modulation.lin",
    "proj_out": "final_layer.linear",
    "norm_out.linear": "final_layer.adaLN_modulation.1",  # (scale, shift) -> BFL's (shift, scale)
}
_DOUBLE = {
    "attn.to_out.0.weight": "img_attn.proj.weight",
    "attn.to_add_out.weight": "txt_attn.proj.weight",
    "attn.norm_q.weight": "img_attn.norm.query_norm.scale",
    "attn.norm_k.weight": "img_attn.norm.key_norm.scale",
    "attn.norm_added_q.weight": "txt_attn.norm.query_norm.scale",
    "attn.norm_added_k.weight": "txt_attn.norm.key_norm.scale",
    "ff.linear_in.weight": "img_mlp.0.weight",
    "ff.linear_out.weight": "img_mlp.2.weight",
    "ff_context.linear_in.weight": "txt_mlp.0.weight",
    "ff_context.linear_out.weight": "txt_mlp.2.weight",
}
_DOUBLE_FUSED = {
    "img_attn.qkv.weight": ("attn.to_q.weight", "attn.to_k.weight", "attn.to_v.weight"),
    "txt_attn.qkv.weight": ("attn.add_q_proj.weight", "attn.add_k_proj.weight", "attn.add_v_proj.weight"),
}
_SINGLE = {
    "attn.to_qkv_mlp_proj.weight": "linear1.weight",  # fused in diffusers too
    "attn.to_out.weight": "linear2.weight",
    "attn.norm_q.weight": "norm.query_norm.scale",
    "attn.norm_k.weight": "norm.key_norm.scale",
}


def _swap_halves(tensor: torch.Tensor) -> torch.Tensor:
    first, second = tensor.chunk(2, dim=0)
    return torch.cat([second, first], dim=0)


def transformer_to_bfl(state_dict: dict) -> dict:
    """A Flux2Transformer2DModel state dict -> BFL's single-file keys (see the module docstring)."""
    out: dict = {}
    blocks: dict[tuple[str, str], dict] = {}
    for key, value in state_dict.items():
        head, _, rest = key.partition(".")
        if head in ("transformer_blocks", "single_transformer_blocks"):
            index, _, name = rest.partition(".")
            blocks.setdefault((head, index), {})[name] = value
            continue
        module, _, part = key.rpartition(".")
        if module not in _TOP:
            raise ValueError(f"no BFL name for Flux.2 transformer key {key!r}")
        out[f"{_TOP[module]}.{part}"] = _swap_halves(value) if module == "norm_out.linear" else value
    for (head, index), block in blocks.items():
        double = head == "transformer_blocks"
        stem = f"double_blocks.{index}." if double else f"single_blocks.{index}."
        renames, fused = (_DOUBLE, _DOUBLE_FUSED) if double else (_SINGLE, {})
        if unknown := sorted(set(block) - set(renames) - {s for group in fused.values() for s in group}):
            raise ValueError(f"no BFL name for {head}.{index} keys {unknown}")
        out.update({stem + new: block[old] for old, new in renames.items()})
        out.update({stem + new: torch.cat([block[s] for s in parts]) for new, parts in fused.items()})
    return {key: value.contiguous() for key, value in out.items()}


def ai_toolkit_lora(transformer, seed: int) -> dict[str, torch.Tensor]:
    """A random rank-4 LoRA on the blocks' attention and MLP Linears, in ai-toolkit's keys
    (`diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight`: one pair for the fused q/k/v)."""
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}

    def add(name: str, module: torch.nn.Linear, outputs: int = 1) -> None:
        down, up = lora_pair(generator, module.in_features, outputs * module.out_features)
        out[f"diffusion_model.{name}.lora_A.weight"], out[f"diffusion_model.{name}.lora_B.weight"] = down, up

    for index, block in enumerate(transformer.transformer_blocks):
        stem = f"double_blocks.{index}"
        add(f"{stem}.img_attn.qkv", block.attn.to_q, outputs=3)
        add(f"{stem}.txt_attn.qkv", block.attn.add_q_proj, outputs=3)
        add(f"{stem}.img_attn.proj", block.attn.to_out[0])
        add(f"{stem}.txt_attn.proj", block.attn.to_add_out)
        add(f"{stem}.img_mlp.0", block.ff.linear_in)
        add(f"{stem}.img_mlp.2", block.ff.linear_out)
    for index, block in enumerate(transformer.single_transformer_blocks):
        add(f"single_blocks.{index}.linear1", block.attn.to_qkv_mlp_proj)
        add(f"single_blocks.{index}.linear2", block.attn.to_out)
    return out
