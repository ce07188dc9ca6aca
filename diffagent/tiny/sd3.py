"""A tiny SD 3.5-shaped StableDiffusion3Pipeline, its transformer in Stability's single-file layout
(what Civitai's SD 3.5 checkpoints hold: `model.diffusion_model.joint_blocks.N.*`), and a tiny
LoRA in diffusers' SD 3 layout (`transformer.<module>.lora_A/B.weight`, what diffusers' and
SimpleTuner's SD 3.5 trainers write; diffusers 0.42.1 converts no other SD 3 LoRA layout).

The transformer has qk RMS norms (SD 3.5) and one dual-attention block (`attn2`, SD 3.5 Medium's
MMDiT-X), so both variants' keys go through diffusers' converter
(`convert_sd3_transformer_checkpoint_to_diffusers`), which reads every width from the file."""

from __future__ import annotations

from pathlib import Path

from diffagent.tiny.diffusion import TEXT_HIDDEN, TEXT_HIDDEN_2, TINY_SEED, text_encoder_config, tiny_vae
from diffagent.tiny.flux import build_t5_tokenizer, t5_config_kwargs

T5_HIDDEN = 96  # >= the two CLIPs' widths together: SD 3 pads their features to T5's width
INNER = 32  # 2 heads x 16
PREFIX = "model.diffusion_model."


def build_tiny_sd3(tokenizer_dir: Path):
    """A StableDiffusion3Pipeline with SD 3.5's component classes and tiny widths."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection, CLIPTokenizer, T5Config, T5EncoderModel

    torch.manual_seed(TINY_SEED + 3)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    tokenizer_3 = build_t5_tokenizer()
    vocab = len(tokenizer)
    transformer = SD3Transformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=4,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_HIDDEN,
        caption_projection_dim=INNER,
        pooled_projection_dim=TEXT_HIDDEN + TEXT_HIDDEN_2,
        out_channels=4,
        pos_embed_max_size=16,
        dual_attention_layers=(0,),
        qk_norm="rms_norm",
    )
    t5 = T5EncoderModel(T5Config(**t5_config_kwargs(len(tokenizer_3), T5_HIDDEN)))
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),  # SD 3.5's scheduler config
        vae=tiny_vae(shift_factor=0.0, scaling_factor=1.0, use_quant_conv=False, use_post_quant_conv=False),
        text_encoder=CLIPTextModelWithProjection(text_encoder_config(vocab, True)),
        tokenizer=tokenizer,
        text_encoder_2=CLIPTextModelWithProjection(text_encoder_config(vocab, True, TEXT_HIDDEN_2)),
        tokenizer_2=CLIPTokenizer.from_pretrained(tokenizer_dir),
        text_encoder_3=t5,
        tokenizer_3=tokenizer_3,
    )


def _swap_halves(tensor):
    """Stability's final adaLN emits (shift, scale), diffusers' (scale, shift)."""
    import torch

    first, second = tensor.chunk(2, dim=0)
    return torch.cat([second, first], dim=0)


_TOP = {
    "pos_embed.pos_embed": "pos_embed",
    "pos_embed.proj.weight": "x_embedder.proj.weight",
    "pos_embed.proj.bias": "x_embedder.proj.bias",
    "context_embedder.weight": "context_embedder.weight",
    "context_embedder.bias": "context_embedder.bias",
    "proj_out.weight": "final_layer.linear.weight",
    "proj_out.bias": "final_layer.linear.bias",
}
_TIME = {"timestep_embedder": "t_embedder", "text_embedder": "y_embedder"}
_LINEAR = {"linear_1": "mlp.0", "linear_2": "mlp.2"}
# diffusers block module -> (Stability stream, name) for the unfused layers.
_BLOCK = {
    "attn.to_out.0": "x_block.attn.proj",
    "attn.to_add_out": "context_block.attn.proj",
    "attn2.to_out.0": "x_block.attn2.proj",
    "norm1.linear": "x_block.adaLN_modulation.1",
    "norm1_context.linear": "context_block.adaLN_modulation.1",
    "ff.net.0.proj": "x_block.mlp.fc1",
    "ff.net.2": "x_block.mlp.fc2",
    "ff_context.net.0.proj": "context_block.mlp.fc1",
    "ff_context.net.2": "context_block.mlp.fc2",
    "attn.norm_q": "x_block.attn.ln_q",
    "attn.norm_k": "x_block.attn.ln_k",
    "attn.norm_added_q": "context_block.attn.ln_q",
    "attn.norm_added_k": "context_block.attn.ln_k",
    "attn2.norm_q": "x_block.attn2.ln_q",
    "attn2.norm_k": "x_block.attn2.ln_k",
}
_FUSED = {
    "x_block.attn.qkv": ("attn.to_q", "attn.to_k", "attn.to_v"),
    "context_block.attn.qkv": ("attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"),
    "x_block.attn2.qkv": ("attn2.to_q", "attn2.to_k", "attn2.to_v"),
}


def transformer_to_stability(state_dict: dict, num_layers: int) -> dict:
    """An SD3Transformer2DModel state dict -> Stability's single-file keys under `PREFIX`: q/k/v
    fused, the final adaLN halves (and the last block's context adaLN, whose block has no context
    output) in Stability's order. Raises ValueError naming a key it has no name for."""
    import torch

    out: dict = {}
    blocks: dict[int, dict] = {}
    for key, value in state_dict.items():
        if key.startswith("transformer_blocks."):
            index, _, name = key[len("transformer_blocks.") :].partition(".")
            blocks.setdefault(int(index), {})[name] = value
        elif key in _TOP:
            out[_TOP[key]] = value
        elif key.startswith("norm_out.linear."):
            out[f"final_layer.adaLN_modulation.1.{key.rsplit('.', 1)[1]}"] = _swap_halves(value)
        elif key.startswith("time_text_embed."):
            _, embedder, linear, part = key.split(".")
            out[f"{_TIME[embedder]}.{_LINEAR[linear]}.{part}"] = value
        else:
            raise ValueError(f"no Stability name for SD 3 transformer key {key!r}")
    for index, block in blocks.items():
        used = set()
        for new, parts in _FUSED.items():
            for part in ("weight", "bias"):
                names = [f"{name}.{part}" for name in parts]
                if all(name in block for name in names):
                    out[f"joint_blocks.{index}.{new}.{part}"] = torch.cat([block[n] for n in names], dim=0)
                    used |= set(names)
        for key, value in block.items():
            if key in used:
                continue
            module, _, part = key.rpartition(".")
            if module not in _BLOCK:
                raise ValueError(f"no Stability name for SD 3 block key {key!r}")
            last_context_norm = index == num_layers - 1 and module == "norm1_context.linear"
            out[f"joint_blocks.{index}.{_BLOCK[module]}.{part}"] = (
                _swap_halves(value) if last_context_norm else value
            )
    return {f"{PREFIX}{key}": value.contiguous() for key, value in out.items()}


def sd3_lora(transformer, seed: int, rank: int = 4) -> dict:
    """A random LoRA on every attention projection of the transformer, in diffusers' SD 3 keys
    (`transformer.transformer_blocks.N.attn.to_q.lora_A.weight`, ...). lora_B is not zero, so the
    LoRA changes the image at once (a trained LoRA's is not zero either)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    out = {}
    targets = tuple(
        f"attn.{p}" for p in ("to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj")
    )
    for name, module in sorted(transformer.named_modules()):
        if not (isinstance(module, torch.nn.Linear) and name.endswith(targets)):
            continue
        down = torch.randn(rank, module.in_features, generator=generator) * 0.5
        up = torch.randn(module.out_features, rank, generator=generator) * 0.5
        out[f"transformer.{name}.lora_A.weight"] = down
        out[f"transformer.{name}.lora_B.weight"] = up
    return out
