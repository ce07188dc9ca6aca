"""The unified metric (paper Eqs. 2-6), as pure functions.

Per image: each raw metric (CLIP score, ImageReward, HPS v2) is min-max normalised to [0, 1] over
a declared *group* of images, then the normalised metrics are averaged. Per API: the mean of its
k images' unified scores.

The paper does not say over which set it normalises; here the group is a parameter, one label per
image. Our choices: for the RRHF reward, a group is all images of one prompt's candidates; for
evaluation, all images of all compared systems on one prompt.

A degenerate group (max == min for a metric, including a group of one image) carries no
information to rank by: every image in it gets 0.5 for that metric, the midpoint, so the metric
neither rewards nor penalises anyone and the average of the others still decides.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

METRICS: tuple[str, ...] = ("clip_score", "image_reward", "hps_v2")
DEGENERATE_VALUE = 0.5


def _check_finite(name: str, values: Sequence[float]) -> None:
    for index, value in enumerate(values):
        if not math.isfinite(value):
            raise ValueError(f"{name}[{index}] is {value!r}; scores must be finite")


def minmax_normalise(values: Sequence[float]) -> list[float]:
    """(v - min) / (max - min) over `values`; DEGENERATE_VALUE for all when max == min."""
    _check_finite("values", values)
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [DEGENERATE_VALUE] * len(values)
    return [(value - low) / (high - low) for value in values]


def normalise_by_group(values: Sequence[float], groups: Sequence[Hashable]) -> list[float]:
    """Min-max normalise `values` separately within each group label (one label per value)."""
    if len(values) != len(groups):
        raise ValueError(f"{len(values)} values but {len(groups)} group labels")
    members: dict[Hashable, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    normalised = [0.0] * len(values)
    for indices in members.values():
        for index, value in zip(indices, minmax_normalise([values[i] for i in indices]), strict=True):
            normalised[index] = value
    return normalised


def unified_image_scores(
    scores: Mapping[str, Sequence[float]],
    groups: Sequence[Hashable] | None = None,
    metrics: Sequence[str] = METRICS,
) -> list[float]:
    """Per-image unified score: mean over `metrics` of each metric normalised within its group.

    `scores[metric]` holds one raw value per image; `groups` one label per image (None: all images
    form one group).
    """
    missing = [metric for metric in metrics if metric not in scores]
    if missing:
        raise ValueError(f"missing metrics {missing}; got {sorted(scores)}")
    lengths = {metric: len(scores[metric]) for metric in metrics}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"metrics score different numbers of images: {lengths}")
    count = next(iter(lengths.values()))
    labels: Sequence[Hashable] = groups if groups is not None else [0] * count
    normalised = [normalise_by_group(scores[metric], labels) for metric in metrics]
    return [sum(column) / len(metrics) for column in zip(*normalised, strict=True)]


def mean_by_key(values: Sequence[float], keys: Sequence[Hashable]) -> dict[Hashable, float]:
    """Mean of `values` per key (first-seen key order): an API's score over its k images."""
    if len(values) != len(keys):
        raise ValueError(f"{len(values)} values but {len(keys)} keys")
    totals: dict[Hashable, list[float]] = {}
    for value, key in zip(values, keys, strict=True):
        totals.setdefault(key, []).append(value)
    return {key: sum(items) / len(items) for key, items in totals.items()}


def unified_scores(
    scores: Mapping[str, Sequence[float]],
    api_keys: Sequence[Hashable],
    groups: Sequence[Hashable] | None = None,
    metrics: Sequence[str] = METRICS,
) -> dict[Hashable, float]:
    """Unified score of each API (key per image) over its images, normalised within `groups`."""
    return mean_by_key(unified_image_scores(scores, groups, metrics), api_keys)
