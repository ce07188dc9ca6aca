"""Exact search vs the ANN index on synthetic catalogs: build time and memory, p50/p95 latency of one
query, and recall@5 of the ANN path against the exact search.

Rows are clustered (a few thousand centroids plus noise, norms and biases that vary, the real
feature width 768) so that neighbours mean something; queries are drawn around the same centroids.
Latency is the catalog search alone (features in, top-5 out): the embedder's forward pass is the
same for both paths. The ANN path is what `Retriever.rank` runs past the threshold: the index's
pool of `POOL` rows, re-scored exactly (`pooled_ranking`).

    python bench/bench_ann.py --models 100000 1000000 [--queries 200] [--ann-above 100000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from diffagent.retriever.ann import ANN_MIN_MODELS, POOL, AnnIndex, pooled_ranking, pooled_zscores
from diffagent.retriever.embedder import RetrievalIndex

DIM = 768
CHUNK = 100_000


def clustered(rows: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit-ish rows around random centroids, with norms that vary by +-50 %; built in chunks."""
    out = np.empty((rows, centres.shape[1]), np.float32)
    for start in range(0, rows, CHUNK):
        size = min(CHUNK, rows - start)
        part = centres[rng.integers(0, len(centres), size)]
        part = part + 0.6 * rng.standard_normal(part.shape, dtype=np.float32) / np.sqrt(DIM)
        out[start : start + size] = part * rng.uniform(0.5, 1.5, (size, 1)).astype(np.float32)
    return out


def percentiles(times: list[float]) -> str:
    return f"p50 {1000 * np.median(times):7.2f} ms  p95 {1000 * np.percentile(times, 95):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clusters", type=int, default=4000)
    parser.add_argument("--ann-above", type=int, default=ANN_MIN_MODELS, help="build the ANN past this size")
    parser.add_argument("--threads", type=int, default=0, help="ANN build threads (0: all cores)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((args.clusters, DIM)).astype(np.float32) / np.sqrt(DIM)
    queries = 20 * clustered(args.queries, centres, rng)  # trained-head scale: scores of a few units
    print("| models | path | build s | memory GB | latency (one query, top-5) | recall@5 vs exact |")
    print("|---|---|---|---|---|---|")
    for models in args.models:
        dense = clustered(models, centres, rng)
        bias = rng.normal(0, 0.1, models).astype(np.float32)
        started = time.perf_counter()
        # the exact path ranks x . w + b: the bias rides as one more column, the query as x with a 1
        exact = RetrievalIndex(
            [str(i) for i in range(models)], np.concatenate([dense, bias[:, None]], 1), None
        )
        built = time.perf_counter() - started
        lifted = np.concatenate([queries, np.ones((len(queries), 1), np.float32)], axis=1)
        times, truth = [], []
        for q in lifted:
            started = time.perf_counter()
            found = exact.scores(q[None], 5)[0]
            times.append(time.perf_counter() - started)
            truth.append({int(m) for m, _ in found})
        memory = exact.matrix.nbytes * 1.5 / 2**30  # float32 rows + their float16 scan copy
        print(f"| {models:,} | exact | {built:.1f} | {memory:.2f} | {percentiles(times)} | 1.000 |")
        if models <= args.ann_above:
            continue
        started = time.perf_counter()
        ann = AnnIndex.build(dense, bias, threads=args.threads)
        built = time.perf_counter() - started
        times, hits = [], []
        for q, want in zip(queries, truth, strict=True):
            started = time.perf_counter()
            pool, _ = ann.search(q[None], POOL, threads=1)
            dense_only = {"dense": 1.0}
            pooled = pooled_zscores(q[None], pool, dense, bias, ann.statistics(q[None]), {}, dense_only, 5)
            got = pooled_ranking(pooled, dense_only, 5)[0]
            times.append(time.perf_counter() - started)
            hits.append(len(want & {row for row, _ in got}) / 5)
        memory = ann.nbytes / 2**30
        print(
            f"| {models:,} | ANN (faiss IVF{ann.index.nlist} fp16, {ann.index.nprobe} probes, pool {POOL}) "
            f"| {built:.1f} | {memory:.2f} "
            f"(+ {dense.nbytes / 2**30:.2f} rows) | {percentiles(times)} | {np.mean(hits):.3f} |"
        )
        del ann, exact, dense


if __name__ == "__main__":
    main()
