"""HPS v2 / v2.1 (Wu et al. 2023) without the `hpsv2` package.

HPS v2 is open_clip ViT-H-14 fine-tuned on human preferences: build the architecture with
`pretrained=None`, load the HPS state dict (`HPS_v2_compressed.pt` / `HPS_v2.1_compressed.pt`,
whose tensors sit under "state_dict"), and score cos(text, image) of the normalised embeddings,
which is what the official `hpsv2.score` returns (the diagonal of image @ text.T).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from diffagent.score.base import check_pairs, default_device
from diffagent.score.open_clip_models import cosine_similarities, create_open_clip, read_folder_spec


def read_hps_state_dict(checkpoint: Path) -> dict[str, torch.Tensor]:
    """Tensors of an HPS checkpoint (.pt with "state_dict", a bare dict, or .safetensors)."""
    if not checkpoint.is_file():
        raise ValueError(f"HPS v2 checkpoint {checkpoint} does not exist")
    if checkpoint.suffix == ".safetensors":
        from safetensors.torch import load_file

        state_dict = load_file(str(checkpoint))
    else:
        # weights_only=True: tensors only, no code runs while unpickling.
        state_dict = torch.load(checkpoint, map_location="cpu", weights_only=True)
        state_dict = state_dict.get("state_dict", state_dict)
    return {key.removeprefix("module."): value for key, value in state_dict.items()}


class HpsV2Scorer:
    """HPS v2: score = cos(text, image) under the HPS-tuned open_clip model."""

    name = "hps_v2"

    def __init__(
        self,
        checkpoint: str | Path,
        model_name: str = "ViT-H-14",
        device: str | None = None,
        batch_size: int = 16,
    ):
        self.device = device or default_device()
        self.batch_size = batch_size
        self.model, self.preprocess, self.tokenizer = create_open_clip(model_name, None, "cpu")
        result = self.model.load_state_dict(read_hps_state_dict(Path(checkpoint)), strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ValueError(
                f"HPS checkpoint {checkpoint} does not fit {model_name}: missing {result.missing_keys[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}"
            )
        self.model.to(self.device).eval()

    @classmethod
    def from_folder(cls, folder: Path, **kwargs) -> HpsV2Scorer:
        spec = read_folder_spec(folder)
        return cls(folder / spec["weights"], spec["model_name"], **kwargs)

    def score(self, prompts: Sequence[str], images: Sequence[Image.Image]) -> list[float]:
        check_pairs(prompts, images)
        return cosine_similarities(
            self.model, self.preprocess, self.tokenizer, self.device, prompts, images, self.batch_size
        )
