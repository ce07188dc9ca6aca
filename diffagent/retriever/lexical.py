"""Lexical signals: character n-gram TF-IDF centroids, trigger words, BM25 over model cards.

Character n-grams (2-5, within words) catch what a sentence encoder smooths away: the exact
embedding names, weights syntax and style tags that a model's users repeat. Features are hashed
(stateless), so a saved retriever needs only the idf vector and the model centroids; nothing is
pickled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sparse

HASH_FEATURES = 2**20
NGRAMS = (2, 5)
MIN_TRIGGER_CHARS = 3
_WORDS = re.compile(r"[a-z0-9_\-']+")


def _hasher():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb",
        ngram_range=NGRAMS,
        n_features=HASH_FEATURES,
        alternate_sign=False,
        norm=None,
        lowercase=True,
    )


def counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """(n, HASH_FEATURES) hashed character n-gram counts."""
    return _hasher().transform([t or "" for t in texts]).tocsr()


def inverse_document_frequency(matrix: sparse.csr_matrix) -> np.ndarray:
    """Smoothed idf per column: log((1 + n) / (1 + df)) + 1 (scikit-learn's formula).

    Example: 3 documents, a column in 1 of them: log(4 / 2) + 1 = 1.6931.
    """
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    return (np.log((1 + matrix.shape[0]) / (1 + df)) + 1).astype(np.float32)


def tfidf(matrix: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear tf (1 + log count) times idf, each row scaled to unit length."""
    from sklearn.preprocessing import normalize

    out = matrix.astype(np.float32, copy=True)
    out.data = 1 + np.log(out.data)
    out = out @ sparse.diags(idf)
    return normalize(out.tocsr())


def strongest_per_row(matrix: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Each row's `keep` largest entries (ties: the lower column), the rest dropped, rows rescaled
    to unit length: a model's centroid by the n-grams that carry most of it.

    Example: rows [[.6, .8, 0], [.48, .6, .64]], keep 1 -> [[0, 1, 0], [0, 0, 1]].
    """
    from sklearn.preprocessing import normalize

    matrix = matrix.tocsr()
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, row_of))  # by row, strongest first
    rank = np.arange(len(order)) - matrix.indptr[row_of[order]]
    kept = order[rank < keep]
    pruned = sparse.csr_matrix(
        (matrix.data[kept], (row_of[kept], matrix.indices[kept])), shape=matrix.shape, dtype=matrix.dtype
    )
    return normalize(pruned).tocsr()


class CharCentroids:
    """Per-model unit centroids of the TF-IDF vectors of [prompt | negative prompt].

    Stored once, by feature (the transpose, in row-major form), because that is what a query
    multiplies by: a second, by-model copy would double the largest array a big catalog holds.
    `max_ngrams` caps each centroid's stored n-grams (its strongest ones) so that memory grows
    with the catalog as models x cap, not with how varied each model's prompts are.

    Why centroids and not a trained n-gram classifier: on the dev capture a head over all the sft
    n-grams (cross-entropy over models, initialised from these centroids) beat them alone (rrhf
    top-1/top-5 51.6/79.1 against 44.9/77.3 %), but in the fused ranking it gained 1.3/0.5 points
    on rrhf and 0.9/-1.8 on eval, it took 105 s a fit (six fits with the reranker's folds), and
    capped to 256 n-grams a model it fell below the centroids (43.1/69.3 %).
    """

    def __init__(
        self, idf_prompt: np.ndarray, idf_negative: np.ndarray, centroids: sparse.spmatrix | None
    ) -> None:
        self.idf_prompt, self.idf_negative = idf_prompt, idf_negative
        self.centroids = centroids
        self.fitted_features: sparse.csr_matrix | None = None

    @property
    def centroids(self) -> sparse.csc_matrix | None:
        """(models, features), a view of the by-feature matrix (no copy)."""
        return self._by_feature.T if self._by_feature is not None else None

    @centroids.setter
    def centroids(self, value: sparse.spmatrix | None) -> None:
        # A CSC (models, features) matrix transposes to CSR without a copy.
        self._by_feature = value.T.tocsr() if value is not None else None

    @classmethod
    def fit(
        cls,
        prompts: Sequence[str],
        negatives: Sequence[str],
        labels: Sequence[int],
        models: int,
        max_ngrams: int | None = None,
    ) -> CharCentroids:
        from sklearn.preprocessing import normalize

        prompt_counts, negative_counts = counts(prompts), counts(negatives)
        model = cls(
            inverse_document_frequency(prompt_counts), inverse_document_frequency(negative_counts), None
        )
        features = model._features(prompt_counts, negative_counts)
        model.fitted_features = features  # per fitted row: the sample table keeps them
        labels = np.asarray(labels)
        membership = sparse.csr_matrix(
            (np.ones(len(labels), np.float32), (labels, np.arange(len(labels)))), shape=(models, len(labels))
        )
        centroids = normalize(membership @ features).tocsr()
        model.centroids = strongest_per_row(centroids, max_ngrams) if max_ngrams else centroids
        return model

    def _features(self, prompt_counts: sparse.csr_matrix, negative_counts: sparse.csr_matrix):
        return sparse.hstack(
            [tfidf(prompt_counts, self.idf_prompt), tfidf(negative_counts, self.idf_negative)]
        ).tocsr()

    def query_features(self, prompts: Sequence[str], negatives: Sequence[str]) -> sparse.csr_matrix:
        """(queries, 2 * HASH_FEATURES) [unit prompt TF-IDF | unit negative TF-IDF] vectors."""
        return self._features(counts(prompts), counts(negatives))

    def scores(self, prompts: Sequence[str], negatives: Sequence[str]) -> np.ndarray:
        """(queries, models) cosine of each query's TF-IDF vector with each model's centroid."""
        features = self.query_features(prompts, negatives)
        return (features @ self._by_feature).toarray().astype(np.float32)

    def save(self, folder) -> None:
        np.save(folder / "lexical_idf_prompt.npy", self.idf_prompt)
        np.save(folder / "lexical_idf_negative.npy", self.idf_negative)
        sparse.save_npz(folder / "lexical_centroids.npz", self.centroids)  # CSC: no transpose copy

    @classmethod
    def load(cls, folder) -> CharCentroids:
        return cls(
            np.load(folder / "lexical_idf_prompt.npy"),
            np.load(folder / "lexical_idf_negative.npy"),
            sparse.load_npz(folder / "lexical_centroids.npz"),  # CSC, or CSR from older folders
        )


def word_ngrams(text: str, longest: int = 4) -> set[str]:
    """Every run of 1..`longest` words of the lowercased text (how trigger words are matched).

    Example: "Pixel art, knight" -> {"pixel", "art", "knight", "pixel art", "art knight", "pixel art knight"}.
    """
    words = _WORDS.findall(text.lower())
    return {" ".join(words[i : i + n]) for n in range(1, longest + 1) for i in range(len(words) - n + 1)}


class TriggerWords:
    """Score a model by the idf-weighted count of its trained words found in the prompt."""

    def __init__(self, trained_words: Sequence[Sequence[str]]) -> None:
        self.models = len(trained_words)
        self.owners: dict[str, list[int]] = {}
        for index, words in enumerate(trained_words):
            for word in {" ".join(_WORDS.findall(str(w).lower())) for w in words or []}:
                if len(word) >= MIN_TRIGGER_CHARS:
                    self.owners.setdefault(word, []).append(index)
        self.weight = {w: float(np.log(1 + self.models / len(o))) for w, o in self.owners.items()}

    def scores(self, prompts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(prompts), self.models), np.float32)
        for row, prompt in enumerate(prompts):
            for gram in word_ngrams(prompt) & self.owners.keys():
                out[row, self.owners[gram]] += self.weight[gram]
        return out


class CardBM25:
    """BM25 (the `bm25s` library) of the prompt against each model's card text."""

    def __init__(self, cards: Sequence[str]) -> None:
        import bm25s

        self.models = len(cards)
        self.index = bm25s.BM25()
        self.index.index(
            bm25s.tokenize(list(cards), stopwords="en", show_progress=False), show_progress=False
        )

    def scores(self, prompts: Sequence[str]) -> np.ndarray:
        import bm25s

        tokens = bm25s.tokenize(list(prompts), stopwords="en", show_progress=False, return_ids=False)
        return np.stack([self.index.get_scores(t) for t in tokens]).astype(np.float32)
