"""What every scorer shares: the interface, input checks and CLIP-style image preprocessing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PIL import Image

# OpenAI CLIP's normalisation, used by CLIP, HPS v2 and ImageReward alike.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class Scorer(Protocol):
    """Loads once; scores a batch of (prompt, image) pairs, one float per image."""

    name: str

    def score(self, prompts: Sequence[str], images: Sequence[Image.Image]) -> list[float]: ...


def check_pairs(prompts: Sequence[str], images: Sequence[Image.Image]) -> None:
    """One prompt per image; raises naming the counts otherwise."""
    if isinstance(prompts, str):
        raise ValueError(f"prompts must be a list with one prompt per image, got the string {prompts!r}")
    if len(prompts) != len(images):
        raise ValueError(f"{len(prompts)} prompts for {len(images)} images; give one prompt per image")


def clip_transform(size: int):
    """Resize the short side (bicubic), centre-crop, RGB, tensor, CLIP normalisation."""
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor

    return Compose(
        [
            Resize(size, interpolation=InterpolationMode.BICUBIC),
            CenterCrop(size),
            lambda image: image.convert("RGB"),
            ToTensor(),
            Normalize(CLIP_MEAN, CLIP_STD),
        ]
    )


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def batches(count: int, size: int) -> list[range]:
    """Index ranges of at most `size` covering 0..count."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    return [range(start, min(start + size, count)) for start in range(0, count, size)]
