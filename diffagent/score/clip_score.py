"""CLIP score (Hessel et al. 2021): 2.5 * max(cos(text, image), 0) with an open_clip ViT-B/32."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from diffagent.score.base import check_pairs, default_device
from diffagent.score.open_clip_models import cosine_similarities, create_open_clip, read_folder_spec

CLIP_SCORE_WEIGHT = 2.5


def clip_score_from_cosine(cosine: float) -> float:
    """2.5 * max(cos, 0): the CLIP-S rescaling, so typical scores spread over [0, 1]."""
    return CLIP_SCORE_WEIGHT * max(cosine, 0.0)


class ClipScorer:
    """CLIP score. `pretrained`: an open_clip tag (e.g. "openai"), a weights file, or None for
    `hf-hub:` model names, which carry their own weights."""

    name = "clip_score"

    def __init__(
        self,
        model_name: str = "ViT-B-32",
        pretrained: str | None = "openai",
        device: str | None = None,
        batch_size: int = 32,
    ):
        self.device = device or default_device()
        self.batch_size = batch_size
        self.model, self.preprocess, self.tokenizer = create_open_clip(model_name, pretrained, self.device)

    @classmethod
    def from_folder(cls, folder: Path, **kwargs) -> ClipScorer:
        """A folder with scorer.json (model_name, config, weights), e.g. the tiny CLIP."""
        spec = read_folder_spec(folder)
        return cls(spec["model_name"], str(folder / spec["weights"]), **kwargs)

    def score(self, prompts: Sequence[str], images: Sequence[Image.Image]) -> list[float]:
        check_pairs(prompts, images)
        cosines = cosine_similarities(
            self.model, self.preprocess, self.tokenizer, self.device, prompts, images, self.batch_size
        )
        return [clip_score_from_cosine(cosine) for cosine in cosines]
