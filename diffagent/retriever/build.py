"""Building retrievers: the untrained one from a catalog's sft samples, the trained one from a DABench.

Both share the same steps (`encode_samples`, `centroids`); training adds the head, the lexical
signals and the fusion weights, each kept only when it raises the rrhf (validation) hit rate.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from diffagent.retriever.dense import centroids, instruction_features
from diffagent.retriever.embedder import Embedder
from diffagent.retriever.model import Retriever, card_text
from diffagent.retriever.params import SETTING_KEYS, SampleTable

log = logging.getLogger(__name__)


def sample_labels(rows: list[dict], models: list[str]) -> tuple[list[dict], np.ndarray]:
    """The rows whose model is among `models`, and each one's position in `models`."""
    position = {m: i for i, m in enumerate(models)}
    kept = [r for r in rows if r["model"] in position]
    return kept, np.array([position[r["model"]] for r in kept], dtype=np.int64)


def encode_rows(embedder: Embedder, rows: list[dict], progress: bool = False) -> np.ndarray:
    """(rows, 2d) instruction features of rows with `prompt` and `negative_prompt`."""
    prompts = embedder.embed([r["prompt"] for r in rows], progress=progress)
    negatives = embedder.embed([r.get("negative_prompt") or "" for r in rows], progress=progress)
    return instruction_features(prompts, negatives)


def sample_table(
    features: np.ndarray, labels: np.ndarray, rows: list[dict], lexical: Any = None, voters: int | None = None
) -> SampleTable:
    settings = [{key: row.get(key) for key in SETTING_KEYS} for row in rows]
    return SampleTable(features, labels, settings, lexical=lexical, voters=voters)


def card_embeddings(embedder: Embedder, entries: list[dict], progress: bool = False) -> np.ndarray:
    """(models, d) unit embeddings of each model's card text: the vector of a model with no sample."""
    return embedder.embed([card_text(e) for e in entries], progress=progress)


def dense_vectors(cards: np.ndarray, features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per model the centroid of its samples' `features`, its card embedding when it has none."""
    half = cards.shape[1]
    fill = features[:, half:].mean(0) if len(features) else np.zeros(half, np.float32)
    return centroids(features, labels, cards, fill)


def _cache_file(catalog: Any, embedder: Embedder) -> Path:
    root = Path(os.environ.get("DIFFAGENT_CACHE_DIR", "~/.cache/diffagent")).expanduser()
    rows = "\n".join(f"{r['model']}\t{r['prompt']}\t{r['negative_prompt']}" for r in catalog.sample_rows)
    key = hashlib.sha256(f"{catalog.fingerprint}|{embedder.key}|{rows}".encode()).hexdigest()[:16]
    return root / "retriever" / f"untrained-{key}.npz"


def untrained_retriever(catalog: Any, embedder: Embedder) -> Retriever:
    """Dense centroids of the catalog's sft samples (cards for models without any), no training.
    Vectors are cached on disk by catalog, samples and embedder."""
    models = list(catalog.selectable)
    entries = [catalog.by_model[m] for m in models]
    rows, labels = sample_labels(catalog.sample_rows, models)
    cache = _cache_file(catalog, embedder)
    if cache.exists():
        saved = np.load(cache)
        features, matrix = saved["features"], saved["matrix"]
    else:
        features = encode_rows(embedder, rows, progress=True)
        matrix = dense_vectors(card_embeddings(embedder, entries, progress=True), features, labels)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, features=features, matrix=matrix)
        tmp.replace(cache)  # atomic: a concurrent reader never sees half a file
    table = sample_table(features, labels, rows)
    bias = np.zeros(len(models), np.float32)
    manifest = {"trained": False, "base_embedder": embedder.name, "catalog_fingerprint": catalog.fingerprint}
    return Retriever(models, matrix, bias, {"dense": 1.0}, table, embedder, entries, manifest=manifest)
