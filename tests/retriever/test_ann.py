"""The ANN index past the exact-search threshold: its maths, recall, saved form and fused ranking."""

from __future__ import annotations

import numpy as np
import pytest

from diffagent.retriever.ann import ANN_FILE, AnnIndex, biased_rows, dense_statistics, lifted_queries
from diffagent.retriever.embedder import Embedder
from diffagent.retriever.lexical import CharCentroids
from diffagent.retriever.model import Retriever
from diffagent.retriever.params import SampleTable


def clustered(rows: int, dim: int, clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows around random centroids (neighbours are meaningful), with norms and biases that vary."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, clusters, rows)] + 0.5 * rng.standard_normal((rows, dim))
    vectors *= rng.uniform(0.5, 1.5, (rows, 1)) / np.sqrt(dim)
    return vectors.astype(np.float32), rng.normal(0, 0.1, rows).astype(np.float32)


def exact_top(features: np.ndarray, dense: np.ndarray, bias: np.ndarray, n: int) -> np.ndarray:
    scores = features @ dense.T + bias
    return np.argsort(-scores, axis=1, kind="stable")[:, :n]


def test_biased_rows_hand_example():
    rows = biased_rows(np.array([[3.0, 0.0], [0.0, 1.0]]), np.array([0.5, 0.0]))
    query = lifted_queries(np.array([[2.0, 5.0]]))
    np.testing.assert_allclose(query @ rows.T, [[6.5, 5.0]], atol=1e-6)


def test_list_count_hand_example():
    from diffagent.retriever.ann import list_count

    assert (list_count(1_000_000), list_count(10_000), list_count(20)) == (4000, 256, 1)


def test_dense_statistics_hand_example():
    from diffagent.retriever.ann import row_moments

    mean, covariance = row_moments(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.zeros(3))
    average, std = dense_statistics(np.array([[1.0, 2.0]]), mean, covariance)
    np.testing.assert_allclose(average, [2.0])
    np.testing.assert_allclose(std, [np.sqrt(2 / 3)], atol=1e-9)


def test_dense_statistics_match_the_full_rows():
    from diffagent.retriever.ann import row_moments

    dense, bias = clustered(3000, 16, 20, seed=1)
    queries = np.random.default_rng(2).standard_normal((5, 16))
    average, std = dense_statistics(queries, *row_moments(dense, bias))
    full = queries @ dense.T + bias
    np.testing.assert_allclose(average, full.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(std, full.std(axis=1), rtol=1e-4)


@pytest.fixture(scope="module")
def built():
    dense, bias = clustered(8000, 48, 200, seed=0)
    return (
        dense,
        bias,
        AnnIndex.build(dense, bias, threads=1),
    )


def test_recall_at_5_against_exact_search(built):
    dense, bias, index = built
    queries, _ = clustered(200, 48, 200, seed=0)  # the same centroids: queries near real clusters
    found, _ = index.search(queries * 20, 5)
    truth = exact_top(queries * 20, dense, bias, 5)
    recall = np.mean([len(set(f) & set(t)) / 5 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95


def test_save_load_round_trip_gives_identical_results(built, tmp_path):
    dense, bias, index = built
    index.save(tmp_path)
    loaded = AnnIndex.load(tmp_path, len(dense))
    queries = np.random.default_rng(3).standard_normal((20, 48)).astype(np.float32)
    for left, right in zip(index.search(queries, 10), loaded.search(queries, 10), strict=True):
        np.testing.assert_array_equal(left, right)
    np.testing.assert_array_equal(loaded.covariance, index.covariance)
    assert AnnIndex.load(tmp_path, len(dense) + 1) is None  # another catalog: rebuild, never reuse


MODELS = 150  # under the pool size: the pool covers the whole catalog


def small_catalog(ann_min_models: int, embedder: Embedder) -> Retriever:
    rng = np.random.default_rng(4)
    entries = [
        {
            "model": f"style{i}",
            "trained_words": [f"trig{i}word"] if i % 3 == 0 else [],
            "tags": ["anime" if i % 2 else "photo"],
            "model_description": f"model number {i} for {'castles' if i % 5 == 0 else 'portraits'}",
        }
        for i in range(MODELS)
    ]
    dense, bias = clustered(MODELS, 768, 10, seed=5)
    lexical = CharCentroids.fit(
        [f"castle portrait trig{i}word" for i in range(MODELS)], ["lowres"] * MODELS, range(MODELS), MODELS
    )
    samples = SampleTable(rng.standard_normal((2, 768)).astype(np.float32), np.array([0, 1]), [{}, {}])
    weights = {"dense": 1.0, "lexical": 0.5, "triggers": 1.0, "bm25": 0.25}
    return Retriever(
        [e["model"] for e in entries],
        dense,
        bias,
        weights,
        samples,
        embedder,
        entries,
        lexical,
        ann_min_models=ann_min_models,
    )


def test_fused_ranking_past_the_threshold_matches_the_exact_path(tmp_path):
    embedder = Embedder()
    exact, approximate = small_catalog(10_000, embedder), small_catalog(100, embedder)
    assert exact._ann is None and approximate._ann is not None
    prompts = ["a castle at dusk trig3word", "portrait of a girl", "trig9word anime", "photo of a cat"]
    negatives = ["lowres", "", "blurry", "bad hands"]
    want, _ = exact.rank(prompts, negatives, 5)
    got, _ = approximate.rank(prompts, negatives, 5)
    for left, right in zip(want, got, strict=True):
        assert [row for row, _ in left] == [row for row, _ in right]
        np.testing.assert_allclose([s for _, s in left], [s for _, s in right], rtol=1e-4, atol=1e-4)
    approximate.save_pretrained(tmp_path)
    assert (tmp_path / ANN_FILE).exists()


def test_top_rows_hand_example():
    from diffagent.retriever.ann import top_rows

    scores = np.array([0.0, 3.0, 1.0, 0.0, 2.0])
    assert set(top_rows(scores, 2).tolist()) == {1, 4}
    assert set(top_rows(scores, 9).tolist()) == {1, 2, 4}
