"""Tiny random-weight scorers in the real formats: an open_clip CLIP, an HPS-format checkpoint and
an ImageReward checkpoint with the official key names, each in a folder the scorers load from."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

TINY_CLIP = "diffagent-tiny-clip"
TINY_HPS = "diffagent-tiny-hps"
SEED = 1234

# ViT-shaped open_clip config: 32x32 images, 8x8 patches, 2 layers of width 32 on both sides.
_OPEN_CLIP_TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}

# A WordPiece vocabulary small enough to be instant; any lowercase text splits into its characters.
_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = ["a", "an", "the", "of", "in", "on", "with", "and", "cat", "dog", "photo", "painting", "portrait"]


def _write_open_clip(
    out: Path, model_name: str, weights_name: str, hps_format: bool, seed: int, tiny: bool = True
) -> Path:
    """`tiny`: the tiny config under `model_name`; else open_clip's own config of `model_name`
    (e.g. ViT-H-14) with random weights, stored in half precision (what the real files ship)."""
    import open_clip
    import torch

    out.mkdir(parents=True, exist_ok=True)
    config_file = out / f"{model_name}.json"
    if tiny:
        config_file.write_text(json.dumps(_OPEN_CLIP_TINY, indent=2))
        open_clip.add_model_config(config_file)
    torch.manual_seed(seed)
    model = open_clip.create_model(model_name, pretrained=None)
    state_dict = model.state_dict()
    if not tiny:
        state_dict = {k: v.half() if v.is_floating_point() else v for k, v in state_dict.items()}
    if hps_format:
        # HPS releases are torch.save({"state_dict": ...}); keep that format so the real path is used.
        torch.save({"state_dict": state_dict}, out / weights_name)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state_dict.items()}, str(out / weights_name))
    spec = {"model_name": model_name, "config": config_file.name if tiny else None, "weights": weights_name}
    (out / "scorer.json").write_text(json.dumps(spec, indent=2))
    return out


def _write_bert_tokenizer(out: Path) -> int:
    """A BertTokenizer folder with BLIP's [DEC]/[ENC] added; returns its vocabulary size."""
    import string

    from transformers import BertTokenizer

    from diffagent.score.image_reward import load_blip_tokenizer

    out.mkdir(parents=True, exist_ok=True)
    pieces = list(string.ascii_lowercase + string.digits)
    vocab = _SPECIAL + _WORDS + list(string.punctuation) + pieces + ["##" + piece for piece in pieces]
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    BertTokenizer(str(vocab_file)).save_pretrained(out)
    tokenizer = load_blip_tokenizer(str(out))
    tokenizer.save_pretrained(out)
    return len(tokenizer)


def _write_image_reward(out: Path, tiny: bool = True) -> Path:
    """`tiny`: tiny widths; else the official ImageReward-v1.0 shapes (ViT-L/16 + BERT-base) with
    this small vocabulary in place of bert-base-uncased's (only the embedding table differs)."""
    import torch

    from diffagent.score.image_reward import ImageRewardConfig

    out.mkdir(parents=True, exist_ok=True)
    vocab_size = _write_bert_tokenizer(out / "tokenizer")
    config = (
        ImageRewardConfig(vocab_size=vocab_size)
        if not tiny
        else ImageRewardConfig(
            vision_hidden=32,
            vision_layers=2,
            vision_heads=4,
            vision_intermediate=64,
            image_size=32,
            patch_size=16,
            text_hidden=32,
            text_layers=2,
            text_heads=4,
            text_intermediate=64,
            vocab_size=vocab_size,
            max_positions=64,
            embed_dim=16,
        )
    )
    shapes = config.official_shapes()
    generator = torch.Generator().manual_seed(SEED)
    state_dict: dict[str, torch.Tensor] = {}
    for key, shape in shapes.items():
        if key.endswith("position_ids"):
            state_dict[key] = torch.arange(shape[1]).unsqueeze(0)
        elif "LayerNorm.weight" in key or key.endswith(("norm1.weight", "norm2.weight", "norm.weight")):
            state_dict[key] = 1.0 + 0.02 * torch.randn(shape, generator=generator)
        else:
            state_dict[key] = 0.1 * torch.randn(shape, generator=generator)
    # The official file is a torch.save'd state dict; write the same format.
    torch.save(state_dict, out / "ImageReward.pt")
    spec = {"config": asdict(config), "weights": "ImageReward.pt", "tokenizer": "tokenizer"}
    (out / "config.json").write_text(json.dumps(spec, indent=2))
    return out


def write_tiny_scorers(out: Path) -> dict[str, Path]:
    """Write out/clip, out/hps and out/image_reward; returns them by scorer name."""
    return {
        "clip": _write_open_clip(out / "clip", TINY_CLIP, "open_clip_model.safetensors", False, SEED),
        "hps": _write_open_clip(out / "hps", TINY_HPS, "HPS_v2_tiny.pt", True, SEED + 1),
        "image_reward": _write_image_reward(out / "image_reward"),
    }


def write_full_shape_scorers(out: Path, clip_model: str = "ViT-B-32") -> dict[str, Path]:
    """The same folders at the real models' shapes, random weights (bench/gpu_check.py): CLIP
    `clip_model`, HPS v2's ViT-H-14, ImageReward's ViT-L/16 + BERT-base. A few GB on disk."""
    return {
        "clip": _write_open_clip(out / "clip", clip_model, "open_clip_model.safetensors", False, SEED, False),
        "hps": _write_open_clip(out / "hps", "ViT-H-14", "HPS_v2_random.pt", True, SEED + 1, False),
        "image_reward": _write_image_reward(out / "image_reward", tiny=False),
    }
