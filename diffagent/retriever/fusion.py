"""Score fusion and hit rates: pure functions over (queries, models) score matrices."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

GRID = (0.0, 0.25, 0.5, 1.0, 2.0)
RESAMPLES = 20  # bootstrap resamples whose tuned weights are averaged (`bagged_weights`)


def zscore(scores: np.ndarray) -> np.ndarray:
    """Each row shifted to mean 0 and scaled to standard deviation 1 (a constant row becomes 0).

    Example: [[1, 2, 3]] -> [[-1.2247, 0, 1.2247]]; [[5, 5]] -> [[0, 0]].
    """
    scores = np.asarray(scores, dtype=np.float32)
    return standardize(scores, scores.mean(axis=1, keepdims=True), scores.std(axis=1, keepdims=True))


def standardize(scores: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(scores - mean) / std, 0 where std is 0: z-scores from statistics known in advance (the ANN
    path scores only candidate rows but takes each row's statistics over the whole catalog).

    Example: [1, 3], mean 2, std 0.5 -> [-2, 2]; std 0 -> [0, 0].
    """
    return np.where(std > 0, (scores - mean) / np.maximum(std, 1e-12), 0.0).astype(np.float32)


def fuse(signals: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """sum_i weights[i] * zscore(signals[i]) over the signals with a non-zero weight."""
    return weighted_sum(signal_zscores(signals, weights), weights)


def weighted_sum(zscores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """sum_i weights[i] * zscores[i]: the fused score from z-scores already taken."""
    return sum(weights[name] * z for name, z in zscores.items())


def used_signals(weights: Mapping[str, float], available: Collection[str]) -> list[str]:
    """The signals of `available` with a non-zero weight, in the order of `weights`."""
    used = [name for name, weight in weights.items() if weight and name in available]
    if not used:
        raise ValueError(f"no signal has a weight: weights {dict(weights)}, signals {sorted(available)}")
    return used


def signal_zscores(signals: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> dict[str, np.ndarray]:
    """`zscore` of each signal with a non-zero weight, in the order of `weights`."""
    return {name: zscore(signals[name]) for name in used_signals(weights, signals)}


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """(queries, k) column indices of the k best scores per row, best first (ties: lower index)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def hit_rates(scores: np.ndarray, truth: Sequence[int], ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Share of rows whose true column is among their k best, for each k.

    Example: scores [[.9, .1, .5], [.2, .3, .1]], truth [2, 1]: top-1 hits row 2 only -> 0.5;
    top-2 hits both -> 1.0.
    """
    truth = np.asarray(truth)
    best = top_k(scores, max(ks))
    return {k: float((best[:, :k] == truth[:, None]).any(axis=1).mean()) for k in ks}


def objective(scores: np.ndarray, truth: Sequence[int]) -> float:
    """What tuning maximises: top-1 + top-5 hit rate (both matter to a user: the answer, the list)."""
    rates = hit_rates(scores, truth)
    return rates[1] + rates[5]


def tune_weights(
    signals: Mapping[str, np.ndarray], truth: Sequence[int], anchor: str, rounds: int = 2
) -> tuple[dict[str, float], float]:
    """Coordinate ascent over `GRID` for every signal but `anchor` (fixed at 1) on validation rows.

    A weight stays 0 unless it raises the objective, so a signal that does not help is dropped.
    Returns the weights and the objective they reach.
    """
    weights = {name: (1.0 if name == anchor else 0.0) for name in signals}
    best = objective(fuse(signals, weights), truth)
    for _ in range(rounds):
        for name in signals:
            if name == anchor:
                continue
            for value in GRID:
                trial = {**weights, name: value}
                score = objective(fuse(signals, trial), truth)
                if score > best + 1e-9:
                    best, weights = score, trial
    return weights, best


def bagged_weights(
    signals: Mapping[str, np.ndarray],
    truth: Sequence[int],
    anchor: str,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, float]:
    """The mean of `tune_weights` over bootstrap resamples of the validation rows.

    Why: a validation split of a few hundred rows has one best grid point that is partly noise; on
    the dev capture weights tuned once on rrhf gave eval top-5 80.9 %, the mean over 20 resamples
    83.1-84.9 % (three seeds). A signal no resample keeps stays at 0.
    """
    truth = np.asarray(truth)
    if resamples < 1:
        return tune_weights(signals, truth, anchor)[0]
    rng = np.random.default_rng(seed)
    total = dict.fromkeys(signals, 0.0)
    for _ in range(resamples):
        rows = rng.integers(0, len(truth), len(truth))
        weights, _ = tune_weights({name: s[rows] for name, s in signals.items()}, truth[rows], anchor)
        for name, weight in weights.items():
            total[name] += weight / resamples
    return {name: round(weight, 4) for name, weight in total.items()}
