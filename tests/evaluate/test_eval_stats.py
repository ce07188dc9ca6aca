"""Statistics against hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from diffagent.evaluate.stats import bootstrap_mean_ci, latency_summary, paired_differences, share, win_rate


def test_paired_differences() -> None:
    """[0.5, 0.7] - [0.4, 0.9] = [0.1, -0.2]."""
    assert np.allclose(paired_differences([0.5, 0.7], [0.4, 0.9]), [0.1, -0.2])
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        paired_differences([1, 2], [1, 2, 3])


def test_bootstrap_of_two_values() -> None:
    """Differences [1, 3]: a resample of size 2 has mean 1 (p=1/4), 2 (p=1/2) or 3 (p=1/4).

    So the 2.5 % and 97.5 % percentiles of the resampled means are 1 and 3, the mean is 2, and about
    half of the resampled means equal 2.
    """
    interval = bootstrap_mean_ci([1.0, 3.0], resamples=4000, seed=0)
    assert (interval.mean, interval.low, interval.high) == (2.0, 1.0, 3.0)


def test_bootstrap_is_seeded_and_constant_data_has_a_point_interval() -> None:
    """All differences 0.25: every resample mean is 0.25, so the interval is [0.25, 0.25]."""
    assert bootstrap_mean_ci([0.25] * 5) == bootstrap_mean_ci([0.25] * 5, seed=9)
    x = np.random.default_rng(1).normal(size=50)
    assert bootstrap_mean_ci(x, seed=3) == bootstrap_mean_ci(x, seed=3)
    low_high = bootstrap_mean_ci(x, seed=3)
    assert low_high.low < low_high.mean < low_high.high
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_mean_ci(x, confidence=95)


def test_win_rate_counts_ties_half_or_excludes_them() -> None:
    """System [0.5, 0.7, 0.2, 0.4] vs Baseline [0.4, 0.7, 0.3, 0.1]: win, tie, loss, win.

    Ties half: (2 + 0.5) / 4 = 0.625. Ties excluded (the paper's user study): 2 / (2 + 1) = 2/3.
    """
    system, baseline = [0.5, 0.7, 0.2, 0.4], [0.4, 0.7, 0.3, 0.1]
    assert win_rate(system, baseline) == 0.625
    assert win_rate(system, baseline, ties="exclude") == pytest.approx(2 / 3)
    assert math.isnan(win_rate([1.0], [1.0], ties="exclude"))
    # Tolerance 0.15: differences [0.1, 0, -0.1, 0.3] are tie, tie, tie, win; excluding ties 1 / 1.
    assert win_rate(system, baseline, ties="exclude", tolerance=0.15) == 1.0
    with pytest.raises(ValueError, match="'both'"):
        win_rate(system, baseline, ties="both")


def test_share_and_latency() -> None:
    """3 of 4 flags -> 0.75. Latencies [1, 2, 3, 4]: mean 2.5, median 2.5, p95 3.85 (linear)."""
    assert share([True, True, False, True]) == 0.75
    summary = latency_summary([1, 2, 3, 4])
    assert summary == pytest.approx({"mean": 2.5, "p50": 2.5, "p95": 3.85})
