"""Prompt-conditioned parameters: what the chosen model's sft samples nearest to the prompt used.

A model's users render portraits and landscapes, few and many steps; the samples whose prompts
look most like this one (same feature space as the dense signal) say which. Each setting is the
similarity-weighted mode over the `NEIGHBOURS` nearest samples; a model with no sample falls back
to the caller's defaults (its most common settings, then the architecture's).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

NEIGHBOURS = 5
SETTING_KEYS = ("width", "height", "sampling_method", "sampling_steps", "cfg_scale", "base_checkpoint")


def weighted_mode(values: Sequence[Hashable], weights: Sequence[float]) -> Hashable:
    """The value with the largest total weight (ties: the first seen).

    Example: values [a, b, b, a, c], weights [.9, .5, .5, .2, 1.0] -> a 1.1, b 1.0, c 1.0 -> a.
    """
    totals: dict[Hashable, float] = {}
    for value, weight in zip(values, weights, strict=True):
        totals[value] = totals.get(value, 0.0) + float(weight)
    return max(totals, key=lambda v: totals[v])  # max keeps the first of equal totals


@dataclass
class SampleTable:
    """The sft samples a retriever keeps: features, owning model and settings, row-aligned."""

    vectors: np.ndarray  # (samples, 2d) unit instruction features
    model_index: np.ndarray  # (samples,) catalog row of the model that made the image
    settings: list[dict]  # per sample: SETTING_KEYS

    def __post_init__(self) -> None:
        order = np.argsort(self.model_index, kind="stable")
        bounds = np.searchsorted(self.model_index[order], np.arange(self.model_index.max(initial=-1) + 2))
        self._rows = {m: order[bounds[m] : bounds[m + 1]] for m in range(len(bounds) - 1)}

    def rows_of(self, model: int) -> np.ndarray:
        return self._rows.get(model, np.zeros(0, dtype=np.int64))


def conditioned_settings(
    query: np.ndarray, model: int, table: SampleTable, neighbours: int = NEIGHBOURS
) -> dict | None:
    """The settings for `model` given the query's feature vector, or None when it has no sample."""
    rows = table.rows_of(model)
    if len(rows) == 0:
        return None
    similarity = table.vectors[rows] @ query
    nearest = np.argsort(-similarity, kind="stable")[:neighbours]
    weights = np.maximum(similarity[nearest], 0.0) + 1e-6  # a far neighbour still counts a little
    chosen = [table.settings[rows[i]] for i in nearest]
    size = weighted_mode([(s["width"], s["height"]) for s in chosen], weights)
    bases = [(s["base_checkpoint"], w) for s, w in zip(chosen, weights, strict=True) if s["base_checkpoint"]]
    return {
        "width": int(size[0]),
        "height": int(size[1]),
        "sampling_method": weighted_mode([s["sampling_method"] for s in chosen], weights),
        "sampling_steps": int(weighted_mode([int(s["sampling_steps"]) for s in chosen], weights)),
        "cfg_scale": float(weighted_mode([round(float(s["cfg_scale"]), 1) for s in chosen], weights)),
        "base_checkpoint": weighted_mode(*zip(*bases, strict=True)) if bases else None,
    }
