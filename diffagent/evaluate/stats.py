"""Statistics for the comparison against Baseline: paired differences, bootstrap CI, win rate.

All pure functions on arrays, so each is checked against a hand-worked example in the tests.
A system and Baseline are compared prompt by prompt (each prompt's unified metric averaged over its
seeds first): the prompts are the unit that varies, so they are what the bootstrap resamples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TIE_POLICIES: tuple[str, ...] = ("half", "exclude")


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float


def paired_differences(system: Sequence[float], baseline: Sequence[float]) -> np.ndarray:
    """system[i] - baseline[i] for each prompt i (same prompt order in both)."""
    a, b = np.asarray(system, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired scores need equal 1-D shapes, got {a.shape} and {b.shape}")
    return a - b


def bootstrap_mean_ci(
    values: Sequence[float], confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> Interval:
    """Mean of `values` with a percentile-bootstrap confidence interval (resampling values, seeded)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"bootstrap needs a non-empty 1-D array, got shape {x.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Interval(float(x.mean()), float(low), float(high))


def win_rate(
    system: Sequence[float], baseline: Sequence[float], ties: str = "half", tolerance: float = 0.0
) -> float:
    """Share of prompts where the system beats Baseline.

    ties="half": a tie (|difference| <= tolerance) counts as half a win, over all prompts; this is
    the usual definition for paired preference and keeps every prompt in the denominator.
    ties="exclude": wins / (wins + losses), the paper's user-study convention (Fig. 5). NaN when
    every prompt is a tie.
    """
    if ties not in TIE_POLICIES:
        raise ValueError(f"ties must be one of {TIE_POLICIES}, got {ties!r}")
    d = paired_differences(system, baseline)
    if d.size == 0:
        raise ValueError("win rate of zero prompts")
    wins, losses = int((d > tolerance).sum()), int((d < -tolerance).sum())
    tied = d.size - wins - losses
    if ties == "half":
        return (wins + 0.5 * tied) / d.size
    return wins / (wins + losses) if wins + losses else float("nan")


def share(flags: Sequence[bool]) -> float:
    """Share of True flags (e.g. hallucinated answers): the paper's hallucination error."""
    x = np.asarray(flags, dtype=bool)
    if x.size == 0:
        raise ValueError("share of zero answers")
    return float(x.mean())


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    """Mean, p50 and p95 of per-prompt selection latencies, in seconds."""
    x = np.asarray(latencies_s, dtype=float)
    if x.size == 0:
        raise ValueError("latency of zero answers")
    return {
        "mean": float(x.mean()),
        "p50": float(np.quantile(x, 0.5)),
        "p95": float(np.quantile(x, 0.95)),
    }
