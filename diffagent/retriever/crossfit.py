"""Cross-fitting: the fused ranking's candidates for sft rows, each scored by a retriever that never
saw it, so that the reranker learns from thousands of queries ranked as unseen prompts are.

A retriever scores its own sft samples far too well (their model's centroid, n-grams and nearest
sample are the sample itself). So the sft rows are cut into folds; each fold's rows are ranked by
a retriever fitted on the other folds. Folds group rows by prompt, as DABench's split does, so no
prompt is on both sides.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np

from diffagent.retriever.config import FOLDS
from diffagent.retriever.model import Retriever
from diffagent.retriever.rerank import features_at, fused_candidates


def prompt_folds(prompts: Sequence[str], folds: int) -> np.ndarray:
    """A fold id in [0, folds) per row, the same for every row of one prompt (a CRC32 of its text:
    stable across runs and machines, unlike Python's salted `hash`).

    Example: ["a cat", "a dog", "a cat"], 2 folds -> [0, 1, 0] (CRC32 2740821092 and 3157255857).
    """
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {folds}")
    return np.array([zlib.crc32(p.encode("utf-8")) % folds for p in prompts], dtype=np.int64)


def candidate_inputs(
    retriever: Retriever,
    rows: Sequence[dict],
    features: np.ndarray,
    labels: np.ndarray,
    weights: dict[str, float],
    candidates: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(queries, candidates, features) reranker inputs of `rows` ranked by `retriever` fused with
    `weights`, and each row's true model's candidate position (-1 when it is not a candidate)."""
    prompts = [r["prompt"] for r in rows]
    negatives = [r["negative_prompt"] for r in rows]
    signals = retriever.signals(prompts, negatives, features)
    found, fused, zscores = fused_candidates(signals, weights, candidates)
    inputs = features_at(list(zscores), found, fused, zscores, retriever.log_samples, retriever.lora)
    hit = found == np.asarray(labels)[:, None]
    return inputs, np.where(hit.any(axis=1), hit.argmax(axis=1), -1)


def out_of_fold_inputs(
    fit: Callable[[np.ndarray], Retriever],
    rows: Sequence[dict],
    features: np.ndarray,
    labels: np.ndarray,
    weights: dict[str, float],
    candidates: int,
    folds: int = FOLDS,
) -> tuple[np.ndarray, np.ndarray] | None:
    """`candidate_inputs` of every row, each fold ranked by `fit(indices of the other rows)`;
    None when the rows' prompts fill fewer than two folds (a tiny split: nothing to cross-fit)."""
    fold = prompt_folds([r["prompt"] for r in rows], folds)
    if len(np.unique(fold)) < 2:
        return None
    inputs, truth = [], []
    for k in np.unique(fold):
        held = np.flatnonzero(fold == k)
        retriever = fit(np.flatnonzero(fold != k))
        x, t = candidate_inputs(
            retriever, [rows[i] for i in held], features[held], labels[held], weights, candidates
        )
        inputs.append(x)
        truth.append(t)
    return np.concatenate(inputs), np.concatenate(truth)
