"""Approximate top-n over the dense signal for catalogs past `ANN_MIN_MODELS` (usearch HNSW).

Up to that size the exact float16 scan (`RetrievalIndex`) stays fast; past it a graph index answers
in roughly log time. The dense score is an inner product with a bias, x . w_j + b_j, and the model
vectors of a trained head have different norms, so it is not a cosine. The index holds each row as
the unit vector [w_j, b_j, sqrt(M^2 - |w_j, b_j|^2)] / M (M the largest norm) and a query as
[x, 1, 0]: every row then has the same norm, so the cosine ranking in the index is exactly the
inner-product ranking (the maximum inner product search reduction of Bachrach et al., 2014), and
HNSW works in a proper metric space.

The fused ranking needs each signal's mean and standard deviation over the whole row (z-scores).
For the dense signal they are exact and cheap from the first two moments of [w_j, b_j]:
mean = x'.mu and var = x'^T C x' with x' = [x, 1] and C the covariance of the rows. Exact rather
than sampled, so that above the threshold the fused scores are the ones the exact path computes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ANN_MIN_MODELS = 100_000  # more models than this: the dense candidates come from the ANN index
ANN_FILE = "ann.usearch"
MOMENTS_FILE = "ann_moments.npz"
POOL = 200  # dense candidates asked of the index per query (at least the n asked for)
MOMENT_CHUNK = 65_536  # rows per step when accumulating the moments (bounds memory)


def augmented_rows(dense: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, D + 2) unit rows [w, b, sqrt(M^2 - |w, b|^2)] / M: equal norms, so cosine ranks as x.w + b.

    Example: w [[3, 0], [0, 1]], b [0, 0]: M = 3 -> [[1, 0, 0, 0], [0, 1/3, 0, sqrt(8)/3]].
    """
    rows = np.concatenate([dense, bias[:, None]], axis=1).astype(np.float32)
    squared = np.einsum("ij,ij->i", rows, rows)
    largest = float(np.sqrt(squared.max())) or 1.0
    filler = np.sqrt(np.maximum(largest**2 - squared, 0.0))[:, None]
    return np.concatenate([rows, filler], axis=1) / largest


def augmented_queries(features: np.ndarray) -> np.ndarray:
    """(Q, D + 2) queries [x, 1, 0] matching `augmented_rows`."""
    ones, zeros = np.ones((len(features), 1)), np.zeros((len(features), 1))
    return np.concatenate([features, ones, zeros], axis=1).astype(np.float32)


def row_moments(dense: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D + 1,) and population covariance (D + 1, D + 1) of the rows [w_j, b_j]."""
    mean = np.concatenate([dense.mean(axis=0, dtype=np.float64), [bias.mean(dtype=np.float64)]])
    second = np.zeros((len(mean), len(mean)), np.float64)
    for start in range(0, len(dense), MOMENT_CHUNK):
        part = slice(start, start + MOMENT_CHUNK)
        rows = np.concatenate([dense[part], bias[part, None]], axis=1) - mean.astype(np.float32)
        second += rows.T.astype(np.float64) @ rows.astype(np.float64)
    return mean, second / max(len(dense), 1)


def dense_statistics(
    features: np.ndarray, mean: np.ndarray, covariance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per query: mean and standard deviation over all rows of x . w_j + b_j, from the moments.

    Example: w [[1, 0], [0, 1], [1, 1]], b 0, x [1, 2]: scores [1, 2, 3] -> mean 2, std 0.8165.
    """
    lifted = np.concatenate([features, np.ones((len(features), 1))], axis=1).astype(np.float64)
    variance = np.einsum("qi,ij,qj->q", lifted, covariance, lifted)
    return lifted @ mean, np.sqrt(np.maximum(variance, 0.0))


class AnnIndex:
    """usearch HNSW over `augmented_rows`, with the dense moments for fused z-scores.

    Builds are deterministic with `threads=1` (insertion order is then fixed); more threads build
    faster and give a graph of the same quality but not bit-identical.
    """

    def __init__(self, index, mean: np.ndarray, covariance: np.ndarray) -> None:
        self.index, self.mean, self.covariance = index, mean, covariance

    @classmethod
    def build(
        cls,
        dense: np.ndarray,
        bias: np.ndarray,
        # measured on 20,000 clustered rows (bench_ann.py's data): share of the exact top-5 in the pool
        # of 200 was 0.855 at (16, 128, 256), 0.94 at (16, 128, 1024), 0.974 at (32, 256, 512)
        connectivity: int = 32,
        expansion_add: int = 256,
        expansion_search: int = 512,
        dtype: str = "f16",
        threads: int = 0,
    ) -> AnnIndex:
        from usearch.index import Index

        rows = augmented_rows(dense, bias)
        index = Index(
            ndim=rows.shape[1],
            metric="cos",
            dtype=dtype,
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )
        index.add(np.arange(len(rows), dtype=np.uint64), rows, threads=threads)
        return cls(index, *row_moments(dense, bias))

    def __len__(self) -> int:
        return len(self.index)

    def search(self, features: np.ndarray, n: int, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(Q, n) catalog rows by approximate dense score, best first, and their cosines in the index
        (rows a query finds fewer than n of are -1 with cosine -inf)."""
        found = self.index.search(augmented_queries(features), n, threads=threads)
        keys = np.asarray(found.keys, dtype=np.int64).reshape(len(features), -1)
        with np.errstate(invalid="ignore"):  # padding past a short answer is NaN; replaced below
            scores = 1.0 - np.asarray(found.distances, dtype=np.float32).reshape(len(features), -1)
        # one query comes back as Matches (its keys already cut to what was found), more as BatchMatches
        counts = np.asarray(getattr(found, "counts", [keys.shape[1]])).reshape(-1, 1)
        missing = np.arange(keys.shape[1])[None, :] >= counts
        return np.where(missing, -1, keys), np.where(missing, -np.inf, scores)

    def statistics(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return dense_statistics(features, self.mean, self.covariance)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.index.save(str(folder / ANN_FILE))
        # expansion_search is a runtime setting the usearch file does not keep
        np.savez(
            folder / MOMENTS_FILE,
            mean=self.mean,
            covariance=self.covariance,
            expansion_search=self.index.expansion_search,
        )

    @classmethod
    def load(cls, folder: str | Path, rows: int) -> AnnIndex | None:
        """The index saved in `folder` if there is one over `rows` rows, else None (rebuild)."""
        from usearch.index import Index

        folder = Path(folder)
        if not (folder / ANN_FILE).exists() or not (folder / MOMENTS_FILE).exists():
            return None
        index = Index.restore(str(folder / ANN_FILE))
        if index is None or len(index) != rows:
            return None
        moments = np.load(folder / MOMENTS_FILE)
        index.expansion_search = int(moments["expansion_search"])
        return cls(index, moments["mean"], moments["covariance"])


def pooled_ranking(
    features: np.ndarray,
    pool: np.ndarray,
    dense: np.ndarray,
    bias: np.ndarray,
    dense_stats: tuple[np.ndarray, np.ndarray],
    others: dict[str, np.ndarray],
    weights: dict[str, float],
    n: int,
) -> list[list[tuple[int, float]]]:
    """Top-n (row, fused score) per query, scoring only the ANN `pool` and the top `len(pool)` rows
    of each of the `others` (lexical signals, neighbour votes); z-scores use each signal's
    statistics over the whole row.

    Why those candidates: the character n-gram and BM25 signals are above zero for most rows (8 or
    9 in 10 on the dev capture: common n-grams and words), so "every row a lexical signal scores"
    would be nearly the whole catalog and the dense scan the index exists to avoid. The union of
    every signal's top pool is the usual hybrid-retrieval candidate set: a row outside it is in no
    signal's top pool. When the pool covers the catalog the result is the exact fused ranking.
    With the dense signal alone the fused order is the dense order, so the raw dense score is
    returned (as the exact path does).
    """
    from diffagent.retriever.fusion import standardize

    used = {name: w for name, w in weights.items() if w and (name == "dense" or name in others)}
    ranked = []
    for q, x in enumerate(features):
        candidates = [pool[q][pool[q] >= 0]]
        width = max(len(pool[q]), n)
        candidates += [top_rows(others[name][q], width) for name in used if name != "dense"]
        rows = np.unique(np.concatenate(candidates))
        dense_scores = dense[rows] @ x + bias[rows]
        if set(used) == {"dense"}:
            fused = dense_scores
        else:
            fused = used.get("dense", 0.0) * standardize(dense_scores, dense_stats[0][q], dense_stats[1][q])
            for name in used:
                if name != "dense":
                    full = others[name][q]
                    fused = fused + used[name] * standardize(full[rows], full.mean(), full.std())
        best = np.argsort(-fused, kind="stable")[:n]
        ranked.append([(int(rows[i]), float(fused[i])) for i in best])
    return ranked


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the n highest scores that are above zero (a zero score adds nothing to a fused
    score, whose lexical weights are >= 0), in no particular order.

    Example: [0, 3, 1, 0, 2], n 2 -> rows {1, 4}; n 9 -> {1, 2, 4}.
    """
    best = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return best[scores[best] > 0]
