"""Quality thresholds that work on 2023's stats (rating, ratingCount) and today's (thumbs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.civitai import Stats


@dataclass(frozen=True)
class QualityThresholds:
    """Which models DABench keeps (paper section 3.1's quality filter)."""

    min_downloads: int = field(default=100, metadata={"help": "Minimum model downloads."})
    # 2023: ratings 1-5 with a count; today rating/ratingCount are 0 and thumbs carry the signal.
    min_rating_count: int = field(default=3, metadata={"help": "Ratings needed before the rating counts."})
    min_rating: float = field(default=4.0, metadata={"help": "Minimum rating (1-5) when rated."})
    min_thumbs_up: int = field(default=3, metadata={"help": "Thumbs needed before the ratio counts."})
    min_thumbs_up_ratio: float = field(default=0.8, metadata={"help": "Minimum share of thumbs up."})


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
