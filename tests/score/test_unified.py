"""The unified metric against hand-worked numbers."""

from __future__ import annotations

import math

import pytest

from diffagent.score.unified import (
    DEGENERATE_VALUE,
    mean_by_key,
    minmax_normalise,
    normalise_by_group,
    unified_image_scores,
    unified_scores,
)


def test_minmax_normalise_by_hand():
    """[2, 4, 6] -> min 2, max 6, range 4 -> [0, 0.5, 1]."""
    assert minmax_normalise([2.0, 4.0, 6.0]) == [0.0, 0.5, 1.0]


def test_degenerate_group_gets_midpoint():
    """max == min (or a single image) carries no ranking information -> 0.5 each."""
    assert minmax_normalise([3.0, 3.0]) == [DEGENERATE_VALUE, DEGENERATE_VALUE] == [0.5, 0.5]
    assert minmax_normalise([7.0]) == [0.5]
    assert minmax_normalise([]) == []


def test_non_finite_score_is_refused():
    with pytest.raises(ValueError, match="nan"):
        minmax_normalise([1.0, math.nan])


def test_normalise_by_group_keeps_groups_apart():
    """Group a: [1, 3] -> [0, 1]; group b: [10, 20, 15] -> [0, 1, 0.5]."""
    values = [1.0, 10.0, 3.0, 20.0, 15.0]
    groups = ["a", "b", "a", "b", "b"]
    assert normalise_by_group(values, groups) == [0.0, 0.0, 1.0, 1.0, 0.5]


def test_unified_scores_hand_worked_example():
    """Two APIs (A, B), k = 2 images each, one prompt (one group of 4 images).

    clip_score   [0.2, 0.4, 0.6, 1.0] -> min 0.2, range 0.8 -> [0, 0.25, 0.5, 1]
    image_reward [-1, 0, 1, 3]        -> min -1, range 4    -> [0, 0.25, 0.5, 1]
    hps_v2       [0.25, 0.25, 0.25, 0.25] degenerate        -> [0.5, 0.5, 0.5, 0.5]
    per image  = mean of three       -> [1/6, 1/3, 0.5, 5/6]
    API A (images 0, 1) = (1/6 + 1/3) / 2 = 0.25
    API B (images 2, 3) = (0.5 + 5/6) / 2 = 2/3
    """
    scores = {
        "clip_score": [0.2, 0.4, 0.6, 1.0],
        "image_reward": [-1.0, 0.0, 1.0, 3.0],
        "hps_v2": [0.25, 0.25, 0.25, 0.25],
    }
    per_image = unified_image_scores(scores)
    assert per_image == pytest.approx([1 / 6, 1 / 3, 0.5, 5 / 6])
    per_api = unified_scores(scores, api_keys=["A", "A", "B", "B"])
    assert per_api == pytest.approx({"A": 0.25, "B": 2 / 3})


def test_groups_change_the_result():
    """Same scores, two prompts (images 0,1 | 2,3): every metric ranks 0<1 and 2<3.

    clip/ir normalised per group -> [0, 1, 0, 1]; hps degenerate -> 0.5 each.
    per image = [(0+0+0.5)/3, (1+1+0.5)/3, ...] = [1/6, 5/6, 1/6, 5/6]; A = B = 0.5.
    """
    scores = {
        "clip_score": [0.2, 0.4, 0.6, 1.0],
        "image_reward": [-1.0, 0.0, 1.0, 3.0],
        "hps_v2": [0.25, 0.25, 0.25, 0.25],
    }
    per_api = unified_scores(scores, api_keys=["A", "A", "B", "B"], groups=[0, 0, 1, 1])
    assert per_api == pytest.approx({"A": 0.5, "B": 0.5})


def test_mismatched_lengths_are_named():
    with pytest.raises(ValueError, match="different numbers"):
        unified_image_scores({"clip_score": [1.0], "image_reward": [1.0, 2.0], "hps_v2": [1.0]})
    with pytest.raises(ValueError, match="missing metrics"):
        unified_image_scores({"clip_score": [1.0]})
    with pytest.raises(ValueError, match="2 values but 1 keys"):
        mean_by_key([1.0, 2.0], ["a"])
