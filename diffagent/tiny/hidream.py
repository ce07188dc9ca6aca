"""A tiny HiDream-I1-shaped HiDreamImagePipeline, its transformer file, and a LoRA in ai-toolkit's
layout (what Civitai's HiDream LoRAs come in).

- Pipeline: HiDreamImageTransformer2DModel (one dual- and one single-stream block, each with the
  mixture-of-experts feed-forward: a shared expert and routed ones), HiDream's four text encoders
  (long CLIP-L and CLIP-G with projections, whose pooled outputs are concatenated; T5; a Llama whose
  hidden states feed one block each, `llama_layers`), Flux.1's 16-channel autoencoder and the
  flow-matching UniPC scheduler HiDream-I1-Full's repository names (shift 3, HiDream's inference
  script's for Full; the repository's own value UNVERIFIED).
- Size: HiDreamImagePipeline renders a fixed area whatever the width and height it is given (they
  set the aspect ratio only): a 128x128 latent for a square image. The tiny VAE has one block (no
  downsampling: 128x128 pixels) and the transformer 4x4 patches (1024 image tokens, not 4096), so
  a step takes milliseconds; the real model's patches are 2x2.
- Checkpoint: the transformer alone. HiDream's original names are diffusers' own (Comfy-Org's
  `hidream_i1_full_fp16.safetensors`; diffusers' `convert_hidream_transformer_to_diffusers` only
  strips a `model.diffusion_model.` prefix), so the file holds them unprefixed.
- LoRA: ai-toolkit's (ostris), the trainer of most Civitai HiDream LoRAs: PEFT `lora_A`/`lora_B`
  pairs on diffusers module names under `diffusion_model.`, which HiDreamImageLoraLoaderMixin
  converts (`_convert_non_diffusers_hidream_lora_to_diffusers`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from diffagent.tiny.diffusion import TEXT_HIDDEN, TEXT_HIDDEN_2, TINY_SEED, text_encoder_config
from diffagent.tiny.flux import T5_HIDDEN, build_t5_tokenizer, t5_config_kwargs
from diffagent.tiny.kohya import peft_lora
from diffagent.tiny.z_image import FLUX1_VAE_SCALING, FLUX1_VAE_SHIFT

LLAMA_HIDDEN = 32
LLAMA_LAYERS = 2  # one hidden state per transformer block (HiDream-I1: 48 blocks read Llama's 32)
# HiDream's CLIPs are long-context ones (248 positions); the pipeline pads their prompts to 128 tokens.
LONG_CLIP_POSITIONS = 248
# Attention of the image and (dual-stream blocks') text streams, the shared expert, the text feed-forward.
_PROJECTIONS = ("to_q", "to_k", "to_v", "to_out")
LORA_TARGETS = tuple(f"attn1.{name}{stream}" for name in _PROJECTIONS for stream in ("", "_t"))
LORA_TARGETS += tuple(f"{ff}.w{index}" for ff in ("shared_experts", "ff_t") for index in (1, 2, 3))


def _long_clip(vocab_size: int, hidden: int):
    from transformers import CLIPTextModelWithProjection

    config = text_encoder_config(vocab_size, True, hidden)
    config.max_position_embeddings = LONG_CLIP_POSITIONS
    return CLIPTextModelWithProjection(config)


def build_llama_tokenizer():
    """A PreTrainedTokenizerFast (the class HiDream's pipeline loads Llama's with) over every byte,
    no merges, with Llama 3's begin and end tokens (the pipeline pads with the end token)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {char: index for index, char in enumerate(alphabet)}
    bos, eos = "<|begin_of_text|>", "<|end_of_text|>"
    vocab |= {bos: len(vocab), eos: len(vocab) + 1}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", special_tokens=[(bos, vocab[bos])]
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=bos, eos_token=eos)
    tokenizer.model_max_length = 128
    return tokenizer


def build_tiny_hidream(tokenizer_dir: Path):
    """A HiDreamImagePipeline with HiDream-I1's component classes and tiny widths."""
    from diffusers import (
        AutoencoderKL,
        HiDreamImagePipeline,
        HiDreamImageTransformer2DModel,
        UniPCMultistepScheduler,
    )
    from transformers import CLIPTokenizer, LlamaConfig, LlamaForCausalLM, T5Config, T5EncoderModel

    torch.manual_seed(TINY_SEED + 12)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    tokenizer_3, tokenizer_4 = build_t5_tokenizer(), build_llama_tokenizer()
    transformer = HiDreamImageTransformer2DModel(
        patch_size=4,
        in_channels=16,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        caption_channels=[T5_HIDDEN, LLAMA_HIDDEN],
        text_emb_dim=TEXT_HIDDEN + TEXT_HIDDEN_2,  # the two CLIPs' pooled projections
        num_routed_experts=2,
        num_activated_experts=1,
        axes_dims_rope=(8, 4, 4),  # sums to attention_head_dim
        max_resolution=(128, 128),
        llama_layers=list(range(LLAMA_LAYERS)),
    )
    llama = LlamaConfig(
        vocab_size=len(tokenizer_4),
        hidden_size=LLAMA_HIDDEN,
        intermediate_size=2 * LLAMA_HIDDEN,
        num_hidden_layers=LLAMA_LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer_4.bos_token_id,
        eos_token_id=tokenizer_4.eos_token_id,
    )
    vae = AutoencoderKL(
        block_out_channels=(16,),
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        latent_channels=16,
        norm_num_groups=8,
        sample_size=128,
        scaling_factor=FLUX1_VAE_SCALING,
        shift_factor=FLUX1_VAE_SHIFT,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )
    return HiDreamImagePipeline(
        scheduler=UniPCMultistepScheduler(
            flow_shift=3.0, use_flow_sigmas=True, prediction_type="flow_prediction"
        ),
        vae=vae,
        text_encoder=_long_clip(len(tokenizer), TEXT_HIDDEN),
        tokenizer=tokenizer,
        text_encoder_2=_long_clip(len(tokenizer), TEXT_HIDDEN_2),
        tokenizer_2=CLIPTokenizer.from_pretrained(tokenizer_dir),
        text_encoder_3=T5EncoderModel(T5Config(**t5_config_kwargs(len(tokenizer_3), T5_HIDDEN))),
        tokenizer_3=tokenizer_3,
        text_encoder_4=LlamaForCausalLM(llama),
        tokenizer_4=tokenizer_4,
        transformer=transformer,
    )


def ai_toolkit_lora(transformer, seed: int) -> dict[str, torch.Tensor]:
    """A random rank-4 LoRA on every block's attention projections and shared expert, in
    ai-toolkit's keys (`diffusion_model.double_stream_blocks.0.block.attn1.to_q.lora_A.weight`)."""
    return peft_lora(transformer, seed, LORA_TARGETS, "diffusion_model.")
