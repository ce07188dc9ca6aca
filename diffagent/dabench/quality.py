"""Quality thresholds that work on 2023's stats (rating, ratingCount) and today's (thumbs)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.civitai import Stats


@dataclass(frozen=True)
class QualityThresholds:
    min_downloads: int = 100
    # 2023: ratings 1-5 with a count; today rating/ratingCount are 0 and thumbs carry the signal.
    min_rating_count: int = 3
    min_rating: float = 4.0
    min_thumbs_up: int = 3
    min_thumbs_up_ratio: float = 0.8


def quality_reject_reason(stats: Stats, thresholds: QualityThresholds) -> str | None:
    """None when the model passes; otherwise the reason (`low_downloads`, `low_rating`)."""
    if stats.download_count < thresholds.min_downloads:
        return "low_downloads"
    rated = stats.rating_count >= thresholds.min_rating_count and stats.rating >= thresholds.min_rating
    votes = stats.thumbs_up_count + stats.thumbs_down_count
    liked = (
        stats.thumbs_up_count >= thresholds.min_thumbs_up
        and votes > 0
        and stats.thumbs_up_count / votes >= thresholds.min_thumbs_up_ratio
    )
    return None if rated or liked else "low_rating"
