"""Scores for generated images and the unified metric (paper Eqs. 2-6).

For RRHF rewards and evaluation, call:

    from diffagent.profiles import load_scorers    # profiles live at the edge, not in score/
    from diffagent.score import unified_scores
    scorers = load_scorers("tiny")            # or "default": real weights from ScorerSettings
    raw = scorers.score_all(prompts, images)  # {"clip_score": [...], "image_reward": [...], "hps_v2": [...]}
    per_api = unified_scores(raw, api_keys, groups)   # {api key: mean unified score over its k images}

- `diffagent.profiles.load_scorers(profile="default", settings=None) -> ScorerSet` (the real ones:
  `diffagent.score.scorers.load_default_scorers(settings)`); `ScorerSet.score_all(prompts, images)
  -> dict[str, list[float]]` and `ScorerSet.score_rows(...) -> list[dict]` (one object per image).
- Each scorer (`ClipScorer`, `ImageRewardScorer`, `HpsV2Scorer`) loads once and has
  `score(prompts, images) -> list[float]`, one prompt per image, batched.
- `unified_image_scores(scores, groups=None)`, `unified_scores(scores, api_keys, groups=None)`,
  `minmax_normalise`, `mean_by_key`: pure functions (diffagent/score/unified.py). A group whose
  metric values are all equal gives every image 0.5 for that metric.

Torch-heavy modules are imported only when a scorer is loaded.
"""

from diffagent.score.unified import (
    DEGENERATE_VALUE,
    METRICS,
    mean_by_key,
    minmax_normalise,
    normalise_by_group,
    unified_image_scores,
    unified_scores,
)

__all__ = [
    "DEGENERATE_VALUE",
    "METRICS",
    "mean_by_key",
    "minmax_normalise",
    "normalise_by_group",
    "unified_image_scores",
    "unified_scores",
]
