"""A tiny Flux.1-shaped FluxPipeline: a 1 + 1 block FluxTransformer2DModel with guidance
embedding (Flux.1 D), CLIP-L- and T5-shaped text encoders, a 4-channel VAE and Flux's
flow-matching scheduler. The T5 tokenizer is a Unigram model over printable ASCII built in-process,
so nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

from diffagent.tiny.diffusion import TEXT_HIDDEN, TINY_SEED, text_encoder_config, tiny_vae

T5_HIDDEN = 32
T5_MAX_LENGTH = 32  # FluxPipeline's max_sequence_length for the tiny model


def t5_config_kwargs(vocab_size: int, d_model: int = T5_HIDDEN) -> dict:
    """The tiny T5-family encoder's config (T5, UMT5): 2 layers, 4 heads of 8, the given width."""
    return {
        "vocab_size": vocab_size,
        "d_model": d_model,
        "d_kv": 8,
        "d_ff": 64,
        "num_layers": 2,
        "num_heads": 4,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
    }


def build_t5_tokenizer():
    """A T5TokenizerFast: pad/eos/unk, every printable ASCII character and `▁`-prefixed letters."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(chr(code), -1.0) for code in range(32, 127)]
    pieces += [("▁" + chr(code), -1.5) for code in range(ord("a"), ord("z") + 1)]
    backend = Tokenizer(models.Unigram(pieces, unk_id=2))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return T5TokenizerFast(
        tokenizer_object=backend, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0
    )


def build_tiny_flux(tokenizer_dir: Path):
    """A FluxPipeline with Flux.1 D's component classes and tiny widths."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel

    torch.manual_seed(TINY_SEED + 2)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    tokenizer_2 = build_t5_tokenizer()
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=16,  # 4 latent channels packed 2x2
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_HIDDEN,
        pooled_projection_dim=TEXT_HIDDEN,
        guidance_embeds=True,
        axes_dims_rope=(4, 6, 6),  # sums to attention_head_dim
    )
    t5 = T5EncoderModel(T5Config(**t5_config_kwargs(len(tokenizer_2), T5_HIDDEN)))
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15
    )
    return FluxPipeline(
        transformer=transformer,
        vae=tiny_vae(shift_factor=0.0, scaling_factor=1.0, use_quant_conv=False, use_post_quant_conv=False),
        text_encoder=CLIPTextModel(text_encoder_config(len(tokenizer), projection=False)),
        text_encoder_2=t5,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        scheduler=scheduler,
    )


# diffusers FluxTransformer2DModel -> BFL single-file names (what Civitai's Flux checkpoints use):
# the inverse of diffusers' `convert_flux_transformer_checkpoint_to_diffusers`. The tiny Flux
# checkpoints cannot be written this way and still load: that converter splits each single block's
# fused `linear1` with Flux.1's widths hard-coded (`inner_dim = 3072`, `mlp_ratio = 4.0`;
# diffusers 0.42.1 loaders/single_file_utils.py lines 2304-2305, used at 2454-2456) and ignores the
# `config=` it is given, so only a 3072-wide transformer (about 480 M parameters for one double and
# one single block) converts. tests/render/test_flux_layout.py runs this map through that converter.
_BFL_TOP = {
    "x_embedder": "img_in",
    "context_embedder": "txt_in",
    "time_text_embed.timestep_embedder.linear_1": "time_in.in_layer",
    "time_text_embed.timestep_embedder.linear_2": "time_in.out_layer",
    "time_text_embed.text_embedder.linear_1": "vector_in.in_layer",
    "time_text_embed.text_embedder.linear_2": "vector_in.out_layer",
    "time_text_embed.guidance_embedder.linear_1": "guidance_in.in_layer",
    "time_text_embed.guidance_embedder.linear_2": "guidance_in.out_layer",
    "proj_out": "final_layer.linear",
    "norm_out.linear": "final_layer.adaLN_modulation.1",  # halves swapped: see _swap_halves
}
_BFL_DOUBLE = {
    "norm1.linear": "img_mod.lin",
    "norm1_context.linear": "txt_mod.lin",
    "attn.to_out.0": "img_attn.proj",
    "attn.to_add_out": "txt_attn.proj",
    "ff.net.0.proj": "img_mlp.0",
    "ff.net.2": "img_mlp.2",
    "ff_context.net.0.proj": "txt_mlp.0",
    "ff_context.net.2": "txt_mlp.2",
}
_BFL_SINGLE = {"norm.linear": "modulation.lin", "proj_out": "linear2"}
# RMSNorm scales: BFL calls the weight `scale`.
_BFL_DOUBLE_NORMS = {
    "attn.norm_q.weight": "img_attn.norm.query_norm.scale",
    "attn.norm_k.weight": "img_attn.norm.key_norm.scale",
    "attn.norm_added_q.weight": "txt_attn.norm.query_norm.scale",
    "attn.norm_added_k.weight": "txt_attn.norm.key_norm.scale",
}
_BFL_SINGLE_NORMS = {
    "attn.norm_q.weight": "norm.query_norm.scale",
    "attn.norm_k.weight": "norm.key_norm.scale",
}
# Fused layers, in the order BFL stacks their rows.
_BFL_DOUBLE_FUSED = {
    "img_attn.qkv": ("attn.to_q", "attn.to_k", "attn.to_v"),
    "txt_attn.qkv": ("attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj"),
}
_BFL_SINGLE_FUSED = {"linear1": ("attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp")}


def _swap_halves(tensor):
    """BFL's final adaLN emits (shift, scale), diffusers' (scale, shift): swap the two halves."""
    import torch

    first, second = tensor.chunk(2, dim=0)
    return torch.cat([second, first], dim=0)


def _block_to_bfl(block: dict, target: str, renames: dict, norms: dict, fused: dict) -> dict:
    import torch

    out = {f"{target}{new}": block[old] for old, new in norms.items()}
    used = set(norms)
    for part in ("weight", "bias"):
        out.update({f"{target}{new}.{part}": block[f"{old}.{part}"] for old, new in renames.items()})
        for new, sources in fused.items():
            out[f"{target}{new}.{part}"] = torch.cat([block[f"{s}.{part}"] for s in sources], dim=0)
        used |= {f"{old}.{part}" for old in renames}
        used |= {f"{source}.{part}" for group in fused.values() for source in group}
    if unknown := sorted(set(block) - used):
        raise ValueError(f"no BFL name for {target} keys {unknown}")
    return out


def transformer_to_bfl(state_dict: dict) -> dict:
    """A FluxTransformer2DModel state dict -> BFL's single-file keys (`double_blocks.N.*`,
    `single_blocks.N.*`, `img_in`, `txt_in`, `time_in`, `vector_in`, `guidance_in` when the model
    has guidance, `final_layer`), q/k/v (and a single block's MLP input) fused as BFL stores them."""
    blocks: dict[tuple[str, int], dict] = {}
    out: dict = {}
    for key, value in state_dict.items():
        head, _, rest = key.partition(".")
        if head in ("transformer_blocks", "single_transformer_blocks"):
            index, _, name = rest.partition(".")
            blocks.setdefault((head, int(index)), {})[name] = value
            continue
        module, _, part = key.rpartition(".")
        if module not in _BFL_TOP:
            raise ValueError(f"no BFL name for Flux transformer key {key!r}")
        out[f"{_BFL_TOP[module]}.{part}"] = _swap_halves(value) if module == "norm_out.linear" else value
    tables = {
        "transformer_blocks": ("double_blocks", _BFL_DOUBLE, _BFL_DOUBLE_NORMS, _BFL_DOUBLE_FUSED),
        "single_transformer_blocks": ("single_blocks", _BFL_SINGLE, _BFL_SINGLE_NORMS, _BFL_SINGLE_FUSED),
    }
    for (head, index), block in sorted(blocks.items()):
        name, renames, norms, fused = tables[head]
        out.update(_block_to_bfl(block, f"{name}.{index}.", renames, norms, fused))
    return out
