"""The three scorers as one set, loaded once per profile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from diffagent.score.base import Scorer, check_pairs
from diffagent.score.settings import ScorerSettings, resolve_weights


@dataclass
class ScorerSet:
    """CLIP score, ImageReward and HPS v2, each loaded once."""

    scorers: list[Scorer]

    @property
    def names(self) -> list[str]:
        return [scorer.name for scorer in self.scorers]

    def score_all(self, prompts: Sequence[str], images: Sequence[Image.Image]) -> dict[str, list[float]]:
        """{metric name: one raw score per image}; one prompt per image."""
        check_pairs(prompts, images)
        return {scorer.name: scorer.score(prompts, images) for scorer in self.scorers}

    def score_rows(self, prompts: Sequence[str], images: Sequence[Image.Image]) -> list[dict[str, float]]:
        """The same scores as one {metric: value} object per image."""
        columns = self.score_all(prompts, images)
        return [{name: columns[name][i] for name in columns} for i in range(len(images))]


def load_tiny_scorers(folder: Path, device: str | None = None) -> ScorerSet:
    """Tiny random-weight scorers from a `write_tiny_scorers` folder (real code paths, small models)."""
    from diffagent.score.clip_score import ClipScorer
    from diffagent.score.hps import HpsV2Scorer
    from diffagent.score.image_reward import ImageRewardScorer

    return ScorerSet(
        [
            ClipScorer.from_folder(folder / "clip", device=device),
            ImageRewardScorer.from_folder(folder / "image_reward", device=device),
            HpsV2Scorer.from_folder(folder / "hps", device=device),
        ]
    )


def load_default_scorers(settings: ScorerSettings | None = None) -> ScorerSet:
    """The real scorers, weights from `ScorerSettings` (profiles: `diffagent.profiles.load_scorers`)."""
    settings = settings or ScorerSettings()
    from diffagent.score.clip_score import ClipScorer
    from diffagent.score.hps import HpsV2Scorer
    from diffagent.score.image_reward import ImageRewardScorer

    device, batch = settings.scorer_device, settings.scorer_batch_size
    return ScorerSet(
        [
            ClipScorer(settings.clip_model, settings.clip_pretrained, device=device, batch_size=batch),
            ImageRewardScorer(
                resolve_weights(settings.image_reward_checkpoint),
                settings.image_reward_tokenizer,
                device=device,
                batch_size=batch,
            ),
            HpsV2Scorer(
                resolve_weights(settings.hps_checkpoint), settings.hps_model, device=device, batch_size=batch
            ),
        ]
    )
