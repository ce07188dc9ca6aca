"""Prompt-conditioned parameters: what the chosen model's sft samples nearest to the prompt used.

A model's users render portraits and landscapes, few and many steps; the samples whose prompts
look most like this one (same feature space as the dense signal) say which. Each setting is the
similarity-weighted mode over the `NEIGHBOURS` nearest samples of the model, plus a smaller vote
(`PRIOR_WEIGHT`) from the `PRIOR_NEIGHBOURS` nearest samples of any model of the same architecture:
people who write alike render alike, and that steadies a model with few samples (on the dev
capture's rrhf split it raised every setting's agreement by 0.4-2 points). A LoRA's base comes
from the model's own samples only, among the Checkpoints it can load on, best compatibility first
(`voted_base`, `schemas.compatibility`). A model with no sample takes the prior vote alone; with none in
its group either, the caller's defaults (its most common settings, then the architecture's).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse

from schemas.t2i import ARCHITECTURE_OF

NEIGHBOURS = 5
PRIOR_NEIGHBOURS = 10
PRIOR_WEIGHT = 0.25
SETTING_KEYS = (
    "width",
    "height",
    "sampling_method",
    "sampling_steps",
    "cfg_scale",
    "base_checkpoint",
    "lora_weight",
    "trigger_words",
)


def architecture_groups(entries: Sequence[dict]) -> np.ndarray:
    """Per catalog row, an id of its architecture (sd1, sdxl, flux): the prior vote on settings
    only counts samples of models that render the same way (an SD 1.5 size is wrong for SDXL)."""
    names = [ARCHITECTURE_OF.get(e.get("base_model"), e.get("base_model") or "") for e in entries]
    ids = {name: i for i, name in enumerate(sorted(set(names)))}
    return np.array([ids[name] for name in names], dtype=np.int64)


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
    """The samples a retriever keeps: features, owning model and settings, row-aligned: its sft
    samples, then (for a trained retriever) its rrhf samples, which inform settings only (`voters`).

    `model_group` (per catalog row, e.g. its architecture) limits the prior vote to models of the
    chosen one's group; None puts every model in one group. `lexical`: each sample's character
    n-gram TF-IDF vector ([prompt | negative], `CharCentroids.query_features`), when kept.
    """

    vectors: np.ndarray  # (samples, 2d) unit instruction features
    model_index: np.ndarray  # (samples,) catalog row of the model that made the image
    settings: list[dict]  # per sample: SETTING_KEYS
    model_group: np.ndarray | None = None  # (catalog rows,) group id
    lexical: sparse.csr_matrix | None = None  # (samples, n-gram features)
    voters: int | None = None  # the first `voters` rows are sft samples (None: all of them)

    def __post_init__(self) -> None:
        if self.voters is None:
            self.voters = len(self.model_index)
        if self.lexical is not None and self.lexical.shape[0] != len(self.model_index):
            raise ValueError(f"{self.lexical.shape[0]} lexical rows for {len(self.model_index)} samples")
        # Queries multiply by the transpose: row-major once, not per query.
        self._lexical_by_feature = self.lexical.T.tocsr() if self.lexical is not None else None
        order = np.argsort(self.model_index, kind="stable")
        bounds = np.searchsorted(self.model_index[order], np.arange(self.model_index.max(initial=-1) + 2))
        self._rows = {m: order[bounds[m] : bounds[m + 1]] for m in range(len(bounds) - 1)}
        groups = self.sample_groups()
        self._group_rows = {int(g): np.flatnonzero(groups == g) for g in np.unique(groups)}

    @property
    def voter_models(self) -> np.ndarray:
        """The owning model of each sft sample: what the ranking's neighbour votes and sample counts
        read. Rows after them (a trained retriever's rrhf samples) inform settings only: the ranking's
        fusion weights and reranker were fitted on votes of sft samples alone, and on the dev capture
        adding the rrhf samples to the votes lowered eval top-1 (59.1 -> 57.8 %) while adding them
        to the settings raised every field's agreement (sampler 73.3 -> 74.7 %, steps 86.7 -> 87.1,
        CFG 84.4 -> 84.9, size 76.4 -> 77.3)."""
        return self.model_index[: self.voters]

    def sample_groups(self) -> np.ndarray:
        if self.model_group is None or len(self.model_index) == 0:
            return np.zeros(len(self.model_index), np.int64)
        return np.asarray(self.model_group)[self.model_index]

    def settings_similarity(self, dense: np.ndarray, lexical: sparse.csr_matrix | None) -> np.ndarray:
        """(queries, samples) what the settings rank samples by: the dense similarity (`dense`, the
        query against every sample) plus, when both sides have them, the cosine of the character
        n-gram vectors of the prompts and of the negative prompts.

        Why both: people who reuse a phrase or a negative prompt word for word reuse their
        settings too, and the sentence encoder smooths such copies away. On the dev capture it
        raised sampler agreement from 73.3 to 74.2 % and size from 73.3 to 74.2 % on eval (81.3 ->
        81.8 and 72.0 -> 72.9 % on rrhf); steps and CFG held on eval (85.8, 83.6 -> 84.0) and
        fell on rrhf (86.2 -> 84.9, 86.2 -> 85.3). Sampler is the one under its bar. The model
        ranking's neighbour votes keep the dense similarity alone: there the n-grams lowered the
        rrhf hit rates.
        """
        if lexical is None or self._lexical_by_feature is None:
            return dense
        return dense + (lexical @ self._lexical_by_feature).toarray().astype(np.float32)

    def rows_of(self, model: int) -> np.ndarray:
        return self._rows.get(model, np.zeros(0, dtype=np.int64))

    def group_rows_of(self, model: int) -> np.ndarray:
        group = 0 if self.model_group is None else int(self.model_group[model])
        return self._group_rows.get(group, np.zeros(0, dtype=np.int64))


def nearest(rows: np.ndarray, similarity: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The `n` of `rows` most similar to the query (`similarity`: the query against every sample),
    and their weights (similarity, floored just above 0 so a far neighbour still counts a little)."""
    best = np.argsort(-similarity[rows], kind="stable")[:n]
    return rows[best], np.maximum(similarity[rows[best]], 0.0) + 1e-6


def conditioned_settings(
    query: np.ndarray,
    model: int,
    table: SampleTable,
    neighbours: int = NEIGHBOURS,
    prior_weight: float = PRIOR_WEIGHT,
    prior_neighbours: int = PRIOR_NEIGHBOURS,
    similarity: np.ndarray | None = None,
    base_levels: Mapping[str, int] | None = None,
) -> dict | None:
    """The settings for `model` given the query's feature vector; None when neither it nor any
    model of its group has a sample. A LoRA's base is its own samples' vote among `base_levels`
    (`voted_base`).

    A model with no sample of its own takes the prior vote alone: what the nearest samples of its
    architecture used. On the dev capture's rrhf split that answered 8 of its prompts better than
    the architecture's fixed defaults did (sampler agreement 77.8 -> 81.3 %).

    `similarity`: the query against every sample (`table.vectors @ query`), when the caller has it
    for a batch already. One product over the whole table, never a gather of the group's rows: the
    prior's group is most of the table, and copying it out for each answer cost a server under load
    most of its time."""
    own = table.rows_of(model)
    if len(own) == 0 and (prior_weight <= 0 or len(table.group_rows_of(model)) == 0):
        return None
    if similarity is None:
        similarity = table.vectors @ query
    rows, weights = nearest(own, similarity, neighbours)
    bases = [(table.settings[r]["base_checkpoint"], w) for r, w in zip(rows, weights, strict=True)]
    usage = nearest_lora_use([table.settings[r] for r in rows], weights)
    if prior_weight > 0:
        prior_rows, prior = nearest(table.group_rows_of(model), similarity, prior_neighbours)
        rows, weights = np.concatenate([rows, prior_rows]), np.concatenate([weights, prior_weight * prior])
    chosen = [table.settings[r] for r in rows]
    size = weighted_mode([(s["width"], s["height"]) for s in chosen], weights)
    return {
        "width": int(size[0]),
        "height": int(size[1]),
        "sampling_method": weighted_mode([s["sampling_method"] for s in chosen], weights),
        "sampling_steps": int(weighted_mode([int(s["sampling_steps"]) for s in chosen], weights)),
        "cfg_scale": float(weighted_mode([round(float(s["cfg_scale"]), 1) for s in chosen], weights)),
        "base_checkpoint": voted_base(bases, base_levels),
        **usage,
    }


def nearest_lora_use(settings: Sequence[Mapping], weights: np.ndarray) -> dict:
    """A LoRA's strength and trigger words from its own nearest samples: the weighted mode of the
    weights they give (rounded to 0.05), the trained words any of them used, most weight first.
    Empty values when none says (`answers.lora_usage` falls back to the LoRA's usual use).

    Example: weights (0.8, 0.8, 1.0) at similarity (.5, .4, .7) -> 0.8 (0.9 against 0.7); words
    [a], [a, b], [] -> [a, b]."""
    said = [(round(float(s["lora_weight"]) * 20) / 20, w) for s, w in zip(settings, weights, strict=True)
            if s.get("lora_weight") is not None]  # fmt: skip
    totals: dict[str, float] = {}
    for s, w in zip(settings, weights, strict=True):
        for word in s.get("trigger_words") or ():
            totals[word] = totals.get(word, 0.0) + float(w)
    return {
        "lora_weight": weighted_mode(*zip(*said, strict=True)) if said else None,
        "trigger_words": sorted(totals, key=lambda word: -totals[word]),
    }


def voted_base(votes: Sequence[tuple[str | None, float]], levels: Mapping[str, int] | None) -> str | None:
    """The base checkpoint a LoRA's nearest samples voted for (weighted mode), None without a vote.

    `levels` (the Checkpoints the LoRA can load on -> compatibility rank, 0 for its own base model:
    `Catalog.base_levels`, from `schemas.compatibility`): only those count, and the best rank among
    the votes wins before any weight does (users who ran an Illustrious LoRA on both an Illustrious
    and a Pony checkpoint: the Illustrious one). None: every named base counts.
    Example: votes [(pony, .9), (ill, .3)], levels {ill: 0, pony: 2} -> ill."""
    kept = [(base, w) for base, w in votes if base and (levels is None or base in levels)]
    if levels is not None and kept:
        best = min(levels[base] for base, _ in kept)
        kept = [(base, w) for base, w in kept if levels[base] == best]
    return weighted_mode(*zip(*kept, strict=True)) if kept else None  # type: ignore[return-value]
