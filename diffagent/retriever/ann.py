"""Approximate top-n over the dense signal for catalogs past `ANN_MIN_MODELS` (faiss IVF).

Up to that size the exact float16 scan (`RetrievalIndex`) stays fast; past it an inverted-file
index scans a few of its lists. The dense score is an inner product with a bias, x . w_j + b_j:
the index holds each row as [w_j, b_j] and a query as [x, 1], and ranks by inner product, so what
it approximates is exactly that score. (The unit-norm reduction of inner product to cosine,
Bachrach et al. 2014, suits graph indexes; under k-means it made the lists sort rows by norm
rather than direction, and recall@5 at 100,000 rows fell from 0.999 to 0.677.)

The fused ranking needs each signal's mean and standard deviation over the whole row (z-scores).
For the dense signal they are exact and cheap from the first two moments of [w_j, b_j]:
mean = x'.mu and var = x'^T C x' with x' = [x, 1] and C the covariance of the rows. Exact rather
than sampled, so that above the threshold the fused scores are the ones the exact path computes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from diffagent.blas import thread_count
from diffagent.retriever.fusion import standardize, weighted_sum

ANN_MIN_MODELS = 100_000  # more models than this: the dense candidates come from the ANN index
ANN_FILE = "ann.faiss"
MOMENTS_FILE = "ann_moments.npz"
POOL = 200  # dense candidates asked of the index per query (at least the n asked for)
PROBES = 32  # lists scanned per query: recall@5 1.000 already at 8 of 4,000 on bench_ann.py's rows;
# 32 keeps 0.91 where rows are barely clustered (noise 3x the cluster spread, 100,000 rows)
TRAIN_PER_LIST = 64  # k-means sample rows per list
MIN_TRAIN_PER_LIST = 39  # faiss warns under this
MAX_LISTS = 65_536
MOMENT_CHUNK = 65_536  # rows per step when accumulating the moments (bounds memory)


def biased_rows(dense: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, D + 1) rows [w, b], so that [x, 1] . [w, b] = x . w + b (`lifted_queries`).

    Example: w [[3, 0], [0, 1]], b [.5, 0], x [2, 5]: [[3, 0, .5], [0, 1, 0]] . [2, 5, 1] = [6.5, 5].
    """
    return np.concatenate([dense, bias[:, None]], axis=1).astype(np.float32)


def lifted_queries(features: np.ndarray) -> np.ndarray:
    """(Q, D + 1) queries [x, 1] matching `biased_rows`."""
    return np.concatenate([features, np.ones((len(features), 1))], axis=1).astype(np.float32)


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
    """An inverted-file index (faiss IVF, float16 codes) over `biased_rows`, with the dense
    moments for fused z-scores.

    Why IVF and not a graph: on bench_ann.py's 1,000,000 clustered rows a usearch HNSW graph
    (connectivity 32, expansion 256/512) took 8,752 s to build on one thread and found 0.654 of
    the exact top-5 in its pool of 200; this index builds in 108 s on two threads and finds 1.000
    of them scanning `PROBES` of its 4,000 lists, p50 10.7 ms a query against the exact scan's
    101 ms (at 100,000 rows: 11.5 s, 1.000, 3.8 ms against 17.0 ms). The pool is then re-scored
    exactly (`pooled_ranking`).
    """

    def __init__(self, index, mean: np.ndarray, covariance: np.ndarray) -> None:
        self.index, self.mean, self.covariance = index, mean, covariance

    @classmethod
    def build(
        cls,
        dense: np.ndarray,
        bias: np.ndarray,
        lists: int | None = None,
        probes: int = PROBES,
        threads: int = 0,
        seed: int = 0,
    ) -> AnnIndex:
        """`lists`: inverted lists (default `list_count`); `threads`: 0 for every core."""
        import faiss

        rows = biased_rows(dense, bias)
        lists = lists or list_count(len(rows))
        index = faiss.index_factory(rows.shape[1], f"IVF{lists},SQfp16", faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed  # the k-means start: the same rows give the same lists
        rng = np.random.default_rng(seed)
        sample = rows[np.sort(rng.choice(len(rows), min(len(rows), TRAIN_PER_LIST * lists), replace=False))]
        with faiss_threads(threads):
            index.train(sample)
            index.add(rows)
        index.nprobe = min(probes, lists)
        return cls(index, *row_moments(dense, bias))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def nbytes(self) -> int:
        """Memory held by the index: its codes and ids, and the list centres."""
        return int(self.index.ntotal * (self.index.code_size + 8) + self.index.nlist * self.index.d * 4)

    def search(self, features: np.ndarray, n: int, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(Q, n) catalog rows by approximate dense score, best first, and those scores (from the
        index's float16 codes); rows a query finds fewer than n of are -1 with score -inf."""
        with faiss_threads(threads):
            scores, keys = self.index.search(lifted_queries(features), n)
        return keys.astype(np.int64), np.where(keys >= 0, scores, -np.inf).astype(np.float32)

    def statistics(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return dense_statistics(features, self.mean, self.covariance)

    def save(self, folder: str | Path) -> None:
        import faiss

        folder = Path(folder)
        faiss.write_index(self.index, str(folder / ANN_FILE))
        np.savez(folder / MOMENTS_FILE, mean=self.mean, covariance=self.covariance, probes=self.index.nprobe)

    @classmethod
    def load(cls, folder: str | Path, rows: int) -> AnnIndex | None:
        """The index saved in `folder` if there is one over `rows` rows, else None (rebuild: also
        what a folder saved with the earlier usearch index gets)."""
        import faiss

        folder = Path(folder)
        if not (folder / ANN_FILE).exists() or not (folder / MOMENTS_FILE).exists():
            return None
        index = faiss.read_index(str(folder / ANN_FILE))
        if index.ntotal != rows:
            return None
        moments = np.load(folder / MOMENTS_FILE)
        if "probes" not in moments:
            return None
        index.nprobe = int(moments["probes"])
        return cls(index, moments["mean"], moments["covariance"])


def list_count(rows: int) -> int:
    """Inverted lists for `rows` rows: 4 sqrt(rows) (faiss's guide is 4-16 sqrt(N)), so a list
    holds about sqrt(rows) / 4 rows; but no more than k-means can place with 39 rows each
    (faiss's minimum), and 1 to 65,536.

    Example: 1,000,000 rows -> 4,000 lists; 10,000 -> 256 (10,000 / 39); 20 -> 1.
    """
    return int(min(MAX_LISTS, rows // MIN_TRAIN_PER_LIST, max(1, round(4 * np.sqrt(rows)))) or 1)


def faiss_threads(threads: int) -> AbstractContextManager[None]:
    """faiss's OpenMP threads set for the block (0: leave them as they are), then put back."""
    import faiss

    return thread_count(faiss.omp_get_max_threads, faiss.omp_set_num_threads, threads)


def pooled_ranking(
    pooled: Iterable[tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]], weights: dict[str, float], n: int
) -> list[list[tuple[int, float]]]:
    """Top-n (row, fused score) per query over `pooled_zscores`' candidates.

    With the dense signal alone the fused order is the dense order, so the raw dense score is
    returned (as the exact path does).
    """
    ranked = []
    for rows, zscores, raw_dense in pooled:
        fused = raw_dense if set(zscores) == {"dense"} else weighted_sum(zscores, weights)
        best = np.argsort(-fused, kind="stable")[:n]
        ranked.append([(int(rows[i]), float(fused[i])) for i in best])
    return ranked


def pooled_zscores(
    features: np.ndarray,
    pool: np.ndarray,
    dense: np.ndarray,
    bias: np.ndarray,
    dense_stats: tuple[np.ndarray, np.ndarray],
    others: dict[str, np.ndarray],
    weights: dict[str, float],
    n: int,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]]:
    """Per query: the candidate rows (the ANN `pool` and the top `len(pool)` rows of each of the
    `others`: lexical signals, neighbour votes), each weighted signal's z-score at them (with the
    signal's statistics over the whole row), and the raw dense scores.

    Why those candidates: the character n-gram and BM25 signals are above zero for most rows (8 or
    9 in 10 on the dev capture: common n-grams and words), so "every row a lexical signal scores"
    would be nearly the whole catalog and the dense scan the index exists to avoid. The union of
    every signal's top pool is the usual hybrid-retrieval candidate set: a row outside it is in no
    signal's top pool. When the pool covers the catalog the result is the exact fused ranking.
    """
    used = [name for name, w in weights.items() if w and (name == "dense" or name in others)]
    for q, x in enumerate(features):
        candidates = [pool[q][pool[q] >= 0]]
        width = max(len(pool[q]), n)
        candidates += [top_rows(others[name][q], width) for name in used if name != "dense"]
        rows = np.unique(np.concatenate(candidates))
        dense_scores = dense[rows] @ x + bias[rows]
        zscores = {}
        for name in used:
            if name == "dense":
                zscores[name] = standardize(dense_scores, dense_stats[0][q], dense_stats[1][q])
            else:
                full = others[name][q]
                zscores[name] = standardize(full[rows], full.mean(), full.std())
        yield rows, zscores, dense_scores


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the n highest scores that are above zero (a zero score adds nothing to a fused
    score, whose lexical weights are >= 0), in no particular order.

    Example: [0, 3, 1, 0, 2], n 2 -> rows {1, 4}; n 9 -> {1, 2, 4}.
    """
    best = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    return best[scores[best] > 0]
