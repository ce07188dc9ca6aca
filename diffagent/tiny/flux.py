"""A tiny Flux.1-shaped FluxPipeline: a 1 + 1 block FluxTransformer2DModel with guidance
embedding (Flux.1 D), CLIP-L- and T5-shaped text encoders, a 4-channel VAE and Flux's
flow-matching scheduler. The T5 tokenizer is a Unigram model over printable ASCII built in-process,
so nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

from diffagent.tiny.diffusion import TEXT_HIDDEN, TINY_SEED, text_encoder_config, tiny_vae

T5_HIDDEN = 32
T5_MAX_LENGTH = 32  # FluxPipeline's max_sequence_length for the tiny model


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
    t5 = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer_2),
            d_model=T5_HIDDEN,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )
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
