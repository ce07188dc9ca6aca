"""The learned reranker: its features, its objective, its training, its saved form, and its place
in both ranking paths (exact and ANN)."""

from __future__ import annotations

import numpy as np
import pytest

from diffagent.retriever.crossfit import prompt_folds
from diffagent.retriever.rerank import (
    Reranker,
    candidate_features,
    feature_names,
    features_at,
    reranked_objective,
    train_reranker,
)


def test_candidate_features_hand_example():
    got = candidate_features(
        np.array([[3.0, 1.0]]), {"dense": np.array([[2.0, 0.0]])}, np.array([[0.69, 0.0]]), np.array([[0, 1]])
    )
    want = [[[3, 0, 0, 2, 0.69, 0], [1, -2, np.log(2), 0, 0, 1]]]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert feature_names(["dense"]) == ["fused", "gap", "log_position", "z_dense", "log_samples", "lora"]


def test_reranked_objective_hand_example():
    # Query 1 ranks its truth (candidate 0) second, query 2 first; a truth not among the
    # candidates (-1) is a miss at every k.
    assert reranked_objective(np.array([[0.1, 0.9], [0.5, 0.2]]), np.array([0, 0])) == 1.5
    assert reranked_objective(np.array([[0.1, 0.9], [0.5, 0.2]]), np.array([0, -1])) == 0.5


def synthetic(queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """10 candidates a query in fused order; the truth is the one LoRA among them, at any position:
    something the fused order does not know and the LoRA flag does."""
    rng = np.random.default_rng(seed)
    fused = -np.sort(-rng.standard_normal((queries, 10)), axis=1)
    truth = rng.integers(0, 10, queries)
    lora = np.zeros((queries, 10))
    lora[np.arange(queries), truth] = 1
    zscores = {"dense": fused + 0.1 * rng.standard_normal(fused.shape)}
    return candidate_features(fused, zscores, rng.random((queries, 10)), lora), truth


def test_training_learns_what_the_fused_order_cannot_and_the_file_round_trips(tmp_path):
    train_x, train_truth = synthetic(400, 0)
    valid_x, valid_truth = synthetic(100, 1)
    reranker, history = train_reranker(train_x, train_truth, valid_x, valid_truth, ["dense"], epochs=15)
    assert reranker is not None and history["best_epoch"] >= 1
    assert history["fused_objective"] < 0.7  # the truth is first 1 time in 10, in the top 5 half the time
    assert reranked_objective(reranker.scores(valid_x), valid_truth) > 1.9
    reranker.save(tmp_path)
    loaded = Reranker.load(tmp_path)
    assert loaded.signals == ["dense"] and loaded.candidates == 10
    np.testing.assert_array_equal(loaded.scores(valid_x), reranker.scores(valid_x))
    assert Reranker.load(tmp_path / "nowhere") is None


def test_a_reranker_that_does_not_beat_the_fused_order_is_not_kept():
    train_x, _ = synthetic(200, 0)
    # The truth is always the fused order's first: nothing can do better on validation.
    reranker, history = train_reranker(
        train_x, np.zeros(200, int), train_x[:50], np.zeros(50, int), ["dense"], 3
    )
    assert reranker is None and history["best_epoch"] == 0 and history["fused_objective"] == 2.0


def test_features_name_a_signal_the_retriever_does_not_compute():
    rows = np.array([[0, 1]])
    with pytest.raises(ValueError, match=r"\['bm25'\]"):
        features_at(
            ["dense", "bm25"], rows, np.zeros((1, 2)), {"dense": np.zeros((1, 2))}, np.zeros(2), np.zeros(2)
        )


def test_prompt_folds_keep_one_prompt_in_one_fold():
    assert prompt_folds(["a cat", "a dog", "a cat"], 2).tolist() == [0, 1, 0]
    folds = prompt_folds([f"prompt {i % 40}" for i in range(400)], 5)
    assert set(folds.tolist()) == set(range(5))
    with pytest.raises(ValueError, match="at least 2 folds, got 1"):
        prompt_folds(["a cat"], 1)


def lora_first(signals: list[str]) -> Reranker:
    """A hand-made reranker that scores a candidate by its LoRA flag alone."""
    names = feature_names(signals)
    w1 = np.zeros((len(names), 1), np.float32)
    w1[names.index("lora"), 0] = 1.0
    ones = np.ones(len(names), np.float32)
    return Reranker(
        signals, 0 * ones, ones, w1, np.zeros(1, np.float32), np.ones(1, np.float32), candidates=30
    )


def test_a_reranker_reorders_the_exact_and_the_ann_paths_alike():
    from diffagent.retriever.embedder import Embedder
    from tests.retriever.test_ann import small_catalog

    embedder = Embedder()
    prompts, negatives = ["a castle at dusk trig3word", "portrait of a girl"], ["lowres", ""]
    exact, approximate = small_catalog(10_000, embedder), small_catalog(100, embedder)
    fused, _ = exact.rank(prompts, negatives, 5)
    third = [row[2][0] for row in fused]  # make each query's third candidate a LoRA
    for retriever in (exact, approximate):
        retriever.reranker = lora_first([k for k, w in retriever.weights.items() if w])
        retriever.lora[third] = 1.0
    want, _ = exact.rank(prompts, negatives, 5)
    got, _ = approximate.rank(prompts, negatives, 5)
    assert [[r for r, _ in row] for row in want] == [[r for r, _ in row] for row in got]
    for row, fused_row in zip(want, fused, strict=True):
        assert row[0][0] in third  # a LoRA first
        # the rest keep the fused order (equal reranker scores: stable)
        rest = [r for r, _ in fused_row if r not in third]
        assert [r for r, _ in row if r not in third][:3] == rest[:3]


def test_a_split_of_one_prompt_has_nothing_to_cross_fit():
    from diffagent.retriever.crossfit import out_of_fold_inputs

    def fit(rows):
        raise AssertionError("no fold can be held out, so nothing is fitted")

    rows = [{"prompt": "a cat", "negative_prompt": ""}] * 4
    assert out_of_fold_inputs(fit, rows, np.zeros((4, 2)), np.zeros(4, int), {"dense": 1.0}, 30) is None
