"""Random-weight models for bench/gpu_check.py, built from configs (nothing is downloaded).

`full=True`: SD 1.5's and SDXL 1.0's real component shapes (UNet, VAE, CLIP text encoders) and a
Llama-2-7B-shaped causal LM; `full=False` (`--smoke`): the tiny test models of `diffagent.tiny`.
Tokenizers are always the tiny local ones, so only the embedding tables are smaller than the real
models' (the compute per token is the real one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from diffagent.tiny.diffusion import build_tiny_sd15, build_tiny_sdxl, write_clip_tokenizer

PROMPTS = ["a red fox in the snow", "portrait of an astronaut, oil painting", "a city street at night"]


def timed(call: Callable[[], object], device: str) -> float:
    """Seconds of one call, CUDA work included."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    call()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started


def _clip_text(vocab: int, hidden: int, layers: int, heads: int, act: str, projection: bool):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=77,
        projection_dim=hidden,
        hidden_act=act,
        bos_token_id=vocab - 2,
        eos_token_id=vocab - 1,
        pad_token_id=vocab - 1,
    )
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config)


def _sd_vae(sample_size: int, scaling_factor: float):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        sample_size=sample_size,
        scaling_factor=scaling_factor,
    )


def _scheduler():
    from diffusers import EulerAncestralDiscreteScheduler

    return EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )


def full_sd15(tokenizer_dir: Path):
    """SD 1.5's shapes: UNet 860 M (320-1280 channels, cross-attention 768), CLIP ViT-L text."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    return StableDiffusionPipeline(
        unet=UNet2DConditionModel(sample_size=64, cross_attention_dim=768),  # defaults: SD 1.x
        vae=_sd_vae(512, 0.18215),
        text_encoder=_clip_text(len(tokenizer), 768, 12, 12, "quick_gelu", False),
        tokenizer=tokenizer,
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def full_sdxl(tokenizer_dir: Path):
    """SDXL 1.0 base's shapes: UNet 2.6 B (transformer depths 1/2/10), CLIP ViT-L + OpenCLIP bigG."""
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    unet = UNet2DConditionModel(
        sample_size=128,
        block_out_channels=(320, 640, 1280),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 2, 10),
        attention_head_dim=(5, 10, 20),
        cross_attention_dim=2048,
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
        use_linear_projection=True,
    )
    return StableDiffusionXLPipeline(
        unet=unet,
        vae=_sd_vae(1024, 0.13025),
        text_encoder=_clip_text(len(tokenizer), 768, 12, 12, "quick_gelu", False),
        text_encoder_2=_clip_text(len(tokenizer), 1280, 32, 20, "gelu", True),
        tokenizer=tokenizer,
        tokenizer_2=CLIPTokenizer.from_pretrained(tokenizer_dir),
        scheduler=_scheduler(),
    )


def write_pipeline(architecture: str, out: Path, full: bool, device: str) -> Path:
    """Build the random-weight pipeline (on `device`, half precision on CUDA) and save it as a
    diffusers folder the renderer loads like any base model."""
    tokenizer_dir = write_clip_tokenizer(out.parent / "clip-tokenizer")
    builders = {"sd1": (full_sd15, build_tiny_sd15), "sdxl": (full_sdxl, build_tiny_sdxl)}
    build = builders[architecture][0 if full else 1]
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    with torch.device(device):  # random init on the GPU: seconds, where the CPU takes minutes
        pipe = build(tokenizer_dir)
    pipe.to(dtype=dtype).save_pretrained(out, safe_serialization=True)
    return out


def llm(tokenizer, full: bool, device: str):
    """A LlamaForCausalLM: Llama-2-7B's widths (4096 hidden, 32 layers, 11008 MLP) or the tiny
    one's, with the tiny tokenizer's vocabulary."""
    from transformers import LlamaConfig, LlamaForCausalLM

    widths = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32)
    if not full:
        widths = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **widths,
    )
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype)
    return model.eval()
