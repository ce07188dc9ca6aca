"""open_clip model loading shared by the CLIP-score and HPS v2 scorers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from diffagent.score.base import batches


def register_config(config_file: Path) -> None:
    """Make a model config JSON known to open_clip under its file stem (e.g. a tiny test model)."""
    import open_clip

    if not config_file.is_file():
        raise ValueError(f"open_clip model config {config_file} does not exist")
    open_clip.add_model_config(config_file)


def read_folder_spec(folder: Path) -> dict:
    """`scorer.json` of a scorer folder: model_name, config (file name or null), weights (file name)."""
    spec_file = folder / "scorer.json"
    if not spec_file.is_file():
        raise ValueError(f"{folder} is not a scorer folder: no scorer.json")
    spec = json.loads(spec_file.read_text())
    if spec.get("config"):
        register_config(folder / spec["config"])
    return spec


def create_open_clip(model_name: str, pretrained: str | None, device: str):
    """(model, preprocess, tokenizer) from open_clip; `pretrained` is a tag, a file path or None."""
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(
        model_name, pretrained=pretrained, device=device
    )
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(model_name)


@torch.no_grad()
def cosine_similarities(
    model,
    preprocess,
    tokenizer,
    device: str,
    prompts: Sequence[str],
    images: Sequence[Image.Image],
    batch_size: int,
) -> list[float]:
    """cos(text_i, image_i) for each pair, from L2-normalised open_clip embeddings."""
    cosines: list[float] = []
    for chunk in batches(len(images), batch_size):
        pixels = torch.stack([preprocess(images[i].convert("RGB")) for i in chunk]).to(device)
        tokens = tokenizer([prompts[i] for i in chunk]).to(device)
        image_features = model.encode_image(pixels, normalize=True).float()
        text_features = model.encode_text(tokens, normalize=True).float()
        cosines.extend((image_features * text_features).sum(dim=-1).cpu().tolist())
    return cosines
