"""Tiny SD 1.5-, SDXL- and Flux-shaped diffusers pipelines with random weights, built from configs.

They have the real component classes and folder layout (`save_pretrained`), so the renderer loads
them exactly like real checkpoints; they are just small (64x64 images in a few steps on a CPU).
The CLIP tokenizer uses a local byte-level vocabulary (every byte as a token, no merges), so
nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

# Text encoders: small enough to be instant, big enough to make prompts matter. SDXL's two
# encoders get different widths, as in the real model (768 and 1280): diffusers' single-file loader
# tells them apart by their width, so equal widths would load encoder 1's weights into both.
TEXT_HIDDEN = 32
TEXT_HIDDEN_2 = 48
TINY_SEED = 20240617


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table (what byte-level BPE vocabularies use)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, [chr(c) for c in chars], strict=True))


def write_clip_tokenizer(out: Path) -> Path:
    """A CLIPTokenizer folder whose vocabulary is every byte, alone and word-final (no merges)."""
    from transformers import CLIPTokenizer

    out.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {}
    for char in _bytes_to_unicode().values():
        vocab[char] = len(vocab)
    for char in _bytes_to_unicode().values():
        vocab[char + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    tokenizer.model_max_length = 77
    tokenizer.save_pretrained(out)
    return out


def text_encoder_config(vocab_size: int, projection: bool, hidden: int = TEXT_HIDDEN):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        # Three layers, so clip skip 2 (the penultimate layer) is a real, different layer.
        num_hidden_layers=3,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=hidden if projection else 512,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
        hidden_act="gelu",
    )


def tiny_vae(**flux_options):
    from diffusers import AutoencoderKL

    # Four blocks, like SD's VAE, so latents are 1/8 of the image side (vae_scale_factor 8).
    return AutoencoderKL(
        block_out_channels=(8, 16, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
        **flux_options,
    )


def _scheduler():
    from diffusers import EulerAncestralDiscreteScheduler

    return EulerAncestralDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
    )


def build_tiny_sd15(tokenizer_dir: Path):
    """A StableDiffusionPipeline with SD 1.5's component classes and tiny widths."""
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    torch.manual_seed(TINY_SEED)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        # Attention only at the lower resolution keeps 512x512 renders to seconds on a CPU.
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_HIDDEN,
        attention_head_dim=8,
        norm_num_groups=8,
    )
    text_encoder = CLIPTextModel(text_encoder_config(len(tokenizer), projection=False))
    return StableDiffusionPipeline(
        unet=unet,
        vae=tiny_vae(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_tiny_sdxl(tokenizer_dir: Path):
    """A StableDiffusionXLPipeline: two text encoders, text_time added conditioning, tiny widths."""
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    torch.manual_seed(TINY_SEED + 1)
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    tokenizer_2 = CLIPTokenizer.from_pretrained(tokenizer_dir)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        # SDXL concatenates both encoders' hidden states; the pooled, projected one of encoder 2
        # (TEXT_HIDDEN_2) plus 6 time ids x addition_time_embed_dim feed the added embedding.
        projection_class_embeddings_input_dim=TEXT_HIDDEN_2 + 6 * 8,
        cross_attention_dim=TEXT_HIDDEN + TEXT_HIDDEN_2,
        norm_num_groups=8,
    )
    vocab = len(tokenizer)
    return StableDiffusionXLPipeline(
        unet=unet,
        vae=tiny_vae(),
        text_encoder=CLIPTextModel(text_encoder_config(vocab, projection=False)),
        text_encoder_2=CLIPTextModelWithProjection(text_encoder_config(vocab, True, TEXT_HIDDEN_2)),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        scheduler=_scheduler(),
        force_zeros_for_empty_prompt=True,
    )


def write_tiny_pipelines(out: Path) -> dict[str, Path]:
    """Write `out/sd15`, `out/sdxl`, `out/flux`, `out/z-image`, ... (`save_pretrained` folders)."""
    from diffagent.tiny.auraflow import build_tiny_auraflow
    from diffagent.tiny.chroma import build_tiny_chroma
    from diffagent.tiny.flux import build_tiny_flux
    from diffagent.tiny.flux2 import build_tiny_flux2_klein
    from diffagent.tiny.flux2_dev import build_tiny_flux2_dev
    from diffagent.tiny.hidream import build_tiny_hidream
    from diffagent.tiny.qwen_image import build_tiny_qwen_image
    from diffagent.tiny.sd3 import build_tiny_sd3
    from diffagent.tiny.z_image import build_tiny_z_image

    out.mkdir(parents=True, exist_ok=True)
    tokenizer_dir = write_clip_tokenizer(out / "clip-tokenizer")
    written: dict[str, Path] = {}
    builders = (
        ("sd15", build_tiny_sd15),
        ("sdxl", build_tiny_sdxl),
        ("flux", build_tiny_flux),
        ("z-image", build_tiny_z_image),
        ("qwen-image", build_tiny_qwen_image),
        ("flux2", build_tiny_flux2_dev),
        ("flux2-klein-4b", lambda _: build_tiny_flux2_klein("4b")),
        ("flux2-klein-9b", lambda _: build_tiny_flux2_klein("9b")),
        ("sd3", build_tiny_sd3),
        ("chroma", build_tiny_chroma),
        ("auraflow", build_tiny_auraflow),
        ("hidream", build_tiny_hidream),
    )
    for name, build in builders:
        build(tokenizer_dir).save_pretrained(out / name, safe_serialization=True)
        written[name] = out / name
    return written
