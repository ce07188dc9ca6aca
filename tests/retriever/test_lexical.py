"""Character n-gram centroids: their pruning, their one stored copy, and their saved form."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sparse

from diffagent.retriever.lexical import CharCentroids, strongest_per_row

PROMPTS = [
    "pixel art, a knight, 8bit",
    "pixel art castle, 16-bit palette",
    "photo of a woman, film grain, 35mm",
    "analog photo, portrait, kodak portra",
    "watercolor landscape, soft wash",
]
NEGATIVES = ["blurry", "blurry", "easynegative, lowres", "easynegative", ""]
LABELS = [0, 0, 1, 1, 2]


def test_strongest_per_row_hand_example():
    matrix = sparse.csr_matrix(np.array([[0.6, 0.8, 0.0], [0.48, 0.6, 0.64], [0, 0, 0]], np.float32))
    assert np.allclose(strongest_per_row(matrix, 1).toarray(), [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    # keep 2: the second row keeps .6 and .64, rescaled to unit length (.6 / .87727, .64 / .87727).
    assert np.allclose(strongest_per_row(matrix, 2).toarray()[1], [0, 0.68394, 0.72954], atol=1e-5)
    # A cap at or past a row's length keeps that row as it was.
    assert np.allclose(strongest_per_row(matrix, 3).toarray(), matrix.toarray())
    # Ties go to the lower column.
    tie = sparse.csr_matrix(np.array([[0.0, 0.5, 0.5, 0.5]], np.float32))
    assert np.allclose(strongest_per_row(tie, 1).toarray(), [[0, 1, 0, 0]])


def test_centroids_are_stored_once_and_score_as_cosines():
    model = CharCentroids.fit(PROMPTS, NEGATIVES, LABELS, models=4)
    by_model = model.centroids
    # The (models, features) view shares its arrays with the by-feature matrix a query multiplies by.
    assert np.shares_memory(by_model.data, model._by_feature.data)
    query = model.query_features(PROMPTS[:1], NEGATIVES[:1])
    expected = (query @ by_model.T).toarray()
    assert np.allclose(model.scores(PROMPTS[:1], NEGATIVES[:1]), expected)
    assert model.scores(PROMPTS[:1], NEGATIVES[:1]).argmax() == 0
    # Model 3 has no sample: its centroid is empty and it scores 0.
    assert by_model[3].nnz == 0 and model.scores(PROMPTS, NEGATIVES)[:, 3].max() == 0


def test_a_cap_bounds_each_centroid_and_keeps_a_verbatim_prompt_nearest():
    full = CharCentroids.fit(PROMPTS, NEGATIVES, LABELS, models=3)
    capped = CharCentroids.fit(PROMPTS, NEGATIVES, LABELS, models=3, max_ngrams=40)
    rows = np.diff(capped.centroids.tocsr().indptr)
    assert rows.max() == 40 and np.diff(full.centroids.tocsr().indptr).min() > 40
    scores = capped.scores(PROMPTS, NEGATIVES)
    assert list(scores.argmax(1)) == LABELS


def test_saved_centroids_load_in_either_orientation(tmp_path):
    model = CharCentroids.fit(PROMPTS, NEGATIVES, LABELS, models=3)
    model.save(tmp_path)
    loaded = CharCentroids.load(tmp_path)
    assert np.allclose(loaded.scores(PROMPTS, NEGATIVES), model.scores(PROMPTS, NEGATIVES))
    # Folders written before the single copy saved the centroids by model (CSR).
    sparse.save_npz(tmp_path / "lexical_centroids.npz", model.centroids.tocsr())
    older = CharCentroids.load(tmp_path)
    assert np.allclose(older.scores(PROMPTS, NEGATIVES), model.scores(PROMPTS, NEGATIVES))
    # A part of the catalog (rows kept by position) scores as those columns of the whole.
    part = CharCentroids(model.idf_prompt, model.idf_negative, loaded.centroids[[2, 0]])
    assert np.allclose(part.scores(PROMPTS, NEGATIVES), model.scores(PROMPTS, NEGATIVES)[:, [2, 0]])
