"""`Retriever`: fused ranking of catalog models for instructions, and its saved folder.

Folder layout (`save_pretrained` / `load_retriever`):
  manifest.json          embedder, catalog fingerprint, models, signal weights, settings, validation
  model_matrix.npy       (models, 2d) dense model vectors; model_bias.npy (models,)
  samples.npz + samples.json   sample features, owners and settings: sft (`voters`), then rrhf
  reranker.npz           the learned reranker over the fused candidates (`rerank.py`), when kept
  samples_lexical.npz, lexical_*.npy/.npz   character n-gram sample vectors, idf, centroids (if kept)
  ann.faiss + ann_moments.npz   the ANN index over the dense signal (past `ann_min_models` models)
Trigger words and BM25 are rebuilt from the catalog at load (they need no training).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sparse

from diffagent.blas import one_blas_thread_for
from diffagent.retriever.ann import ANN_MIN_MODELS, POOL, AnnIndex, pooled_ranking, pooled_zscores
from diffagent.retriever.dense import instruction_features
from diffagent.retriever.embedder import Embedder, RetrievalIndex
from diffagent.retriever.fusion import fuse, top_k, weighted_sum
from diffagent.retriever.lexical import CardBM25, CharCentroids, TriggerWords
from diffagent.retriever.neighbours import neighbour_votes
from diffagent.retriever.params import SampleTable, architecture_groups, conditioned_settings
from diffagent.retriever.rerank import Reranker, fused_candidates, reranked_rows

MANIFEST = "manifest.json"
SAMPLES_LEXICAL = "samples_lexical.npz"
FORMAT = "diffagent-retriever/1"
QUERY_CHUNK = 64  # queries scored at once: bounds the (queries, models) matrices in memory
ANN_QUERY_CHUNK = 8  # the same past the ANN threshold, where a row is 100,000+ models wide


def card_text(entry: dict) -> str:
    """What a model's card says: name, trained words, tags, description."""
    words = ", ".join(entry.get("trained_words") or [])
    tags = ", ".join(entry.get("tags") or [])
    return f"{entry['model']}. {words}. {tags}. {entry.get('model_description') or ''}"


class Retriever:
    def __init__(
        self,
        models: list[str],
        dense: np.ndarray,
        bias: np.ndarray,
        weights: dict[str, float],
        samples: SampleTable,
        embedder: Embedder,
        entries: Sequence[dict],
        lexical: CharCentroids | None = None,
        manifest: dict | None = None,
        ann: AnnIndex | None = None,
        ann_min_models: int = ANN_MIN_MODELS,
        reranker: Reranker | None = None,
    ) -> None:
        if not (len(models) == len(dense) == len(bias) == len(entries)):
            raise ValueError(f"{len(models)} models, {len(dense)} vectors, {len(bias)} biases")
        self.models, self.dense, self.bias = models, np.ascontiguousarray(dense, np.float32), bias
        if samples.model_group is None:
            samples = SampleTable(
                samples.vectors,
                samples.model_index,
                samples.settings,
                architecture_groups(entries),
                samples.lexical,
                samples.voters,
            )
        self.weights, self.samples, self.embedder = dict(weights), samples, embedder
        self.lexical, self.manifest, self.entries = lexical, manifest or {}, list(entries)
        self.position = {m: i for i, m in enumerate(models)}
        # What the reranker reads of each model besides its signals.
        self.reranker = reranker
        self.log_samples = np.log1p(np.bincount(samples.voter_models, minlength=len(models))).astype(
            np.float32
        )
        self.lora = np.array([e.get("type") == "LORA" for e in entries], np.float32)
        self.triggers = (
            TriggerWords([e.get("trained_words") or [] for e in entries]) if weights.get("triggers") else None
        )
        self.bm25 = CardBM25([card_text(e) for e in entries]) if weights.get("bm25") else None
        dense_only = set(k for k, w in self.weights.items() if w) == {"dense"} and not np.any(bias)
        # Past `ann_min_models` the dense candidates come from the ANN index (given, or built here).
        self._ann = None
        if len(models) > ann_min_models:
            self._ann = (
                ann
                if ann is not None and len(ann) == len(models)
                else AnnIndex.build(self.dense, np.asarray(bias, np.float32))
            )
        # Dense-only ranking below that is exact top-n through the float16 scan (fast to 100k models).
        self._index = RetrievalIndex(models, self.dense, None) if dense_only and self._ann is None else None

    def features(self, prompts: Sequence[str], negatives: Sequence[str]) -> np.ndarray:
        return instruction_features(self.embedder.query(list(prompts)), self.embedder.query(list(negatives)))

    def signals(self, prompts: Sequence[str], negatives: Sequence[str], features: np.ndarray) -> dict:
        """Each kept signal's (queries, models) scores."""
        return {
            "dense": features @ self.dense.T + self.bias,
            **self.extra_signals(prompts, negatives, features),
        }

    def extra_signals(self, prompts: Sequence[str], negatives: Sequence[str], features: np.ndarray) -> dict:
        """Each kept signal's (queries, models) scores but the dense head's: the lexical ones and
        the nearest samples' votes, all >= 0."""
        out = {}
        if self.weights.get("neighbours"):
            out["neighbours"] = neighbour_votes(
                self.sample_similarity(features)[:, : self.samples.voters],
                self.samples.voter_models,
                len(self.models),
            )
        if self.lexical is not None and self.weights.get("lexical"):
            out["lexical"] = self.lexical.scores(prompts, negatives)
        if self.triggers is not None:
            out["triggers"] = self.triggers.scores(prompts)
        if self.bm25 is not None:
            out["bm25"] = self.bm25.scores(prompts)
        return out

    def rank(
        self, prompts: Sequence[str], negatives: Sequence[str], n: int, exact: bool = False
    ) -> tuple[list, np.ndarray]:
        """Top-n (catalog row, fused score) per instruction, best first; and the query features.
        `exact`: score every row even past the ANN threshold (what the ANN's recall is checked by)."""
        if n < 1:
            raise ValueError(f"a shortlist needs n >= 1, got {n}")
        features = self.features(prompts, negatives)
        with one_blas_thread_for(self.dense.size):
            return self._rank(prompts, negatives, features, n, exact), features

    def _rank(
        self, prompts: Sequence[str], negatives: Sequence[str], features: np.ndarray, n: int, exact: bool
    ) -> list:
        if self._index is not None:
            found = self._index.scores(features, n)
            return [[(self.position[m], s) for m, s in row] for row in found]
        if self._ann is not None and not exact:
            return self._ann_rank(prompts, negatives, features, n)
        ranked = []
        for start in range(0, len(prompts), QUERY_CHUNK):
            part = slice(start, start + QUERY_CHUNK)
            signals = self.signals(prompts[part], negatives[part], features[part])
            if self.reranker is not None:
                found = fused_candidates(signals, self.weights, max(n, self.reranker.candidates))
                ranked += self._reranked(*found, n)
                continue
            fused = fuse(signals, self.weights)
            best = top_k(fused, n)
            ranked += [[(int(j), float(row[j])) for j in cols] for row, cols in zip(fused, best, strict=True)]
        return ranked

    def _ann_rank(self, prompts: Sequence[str], negatives: Sequence[str], features: np.ndarray, n: int):
        """`rank` past the ANN threshold: fused over the ANN pool and the other signals' top rows."""
        ranked = []
        for start in range(0, len(prompts), ANN_QUERY_CHUNK):
            part = slice(start, start + ANN_QUERY_CHUNK)
            pool, _ = self._ann.search(features[part], max(n, POOL))
            inputs = (
                features[part],
                pool,
                self.dense,
                self.bias,
                self._ann.statistics(features[part]),
                self.extra_signals(prompts[part], negatives[part], features[part]),
                self.weights,
                n,
            )
            if self.reranker is None:
                ranked += pooled_ranking(pooled_zscores(*inputs), self.weights, n)
                continue
            for rows, zscores, _ in pooled_zscores(*inputs):
                fused = weighted_sum(zscores, self.weights)
                best = np.argsort(-fused, kind="stable")[: max(n, self.reranker.candidates)]
                ranked += self._reranked(
                    rows[best][None], fused[best][None], {k: z[best][None] for k, z in zscores.items()}, n
                )
        return ranked

    def _reranked(self, rows: np.ndarray, fused: np.ndarray, zscores: dict, n: int) -> list:
        return reranked_rows(self.reranker, rows, fused, zscores, self.log_samples, self.lora, n)

    def settings(
        self,
        feature: np.ndarray,
        row: int,
        similarity: np.ndarray | None = None,
        base_levels: Mapping[str, int] | None = None,
    ) -> dict | None:
        """Prompt-conditioned settings for catalog row `row` (`conditioned_settings`), None when
        neither it nor its architecture has an sft sample.
        `similarity`: this query's row of `sample_similarity` (computed here when not given);
        `base_levels`: a LoRA's loadable Checkpoints (`Catalog.base_levels`)."""
        table = self.samples
        return conditioned_settings(feature, row, table, similarity=similarity, base_levels=base_levels)

    def sample_similarity(self, features: np.ndarray) -> np.ndarray:
        """(queries, samples) dense similarity of each query to every sft sample: one product per batch."""
        with one_blas_thread_for(self.samples.vectors.size):
            return features @ self.samples.vectors.T

    def settings_similarity(
        self, features: np.ndarray, prompts: Sequence[str], negatives: Sequence[str]
    ) -> np.ndarray:
        """(queries, samples) what the prompt-conditioned settings rank sft samples by
        (`SampleTable.settings_similarity`): dense, plus character n-grams when the lexical signal
        is kept."""
        lexical = None
        if self.lexical is not None and self.samples.lexical is not None:
            lexical = self.lexical.query_features(prompts, negatives)
        return self.samples.settings_similarity(self.sample_similarity(features), lexical)

    def save_pretrained(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "model_matrix.npy", self.dense)
        np.save(folder / "model_bias.npy", self.bias)
        np.savez(
            folder / "samples.npz",
            vectors=self.samples.vectors,
            model_index=self.samples.model_index,
            voters=self.samples.voters,
        )
        (folder / "samples.json").write_text(json.dumps(self.samples.settings))
        if self.samples.lexical is not None:
            sparse.save_npz(folder / SAMPLES_LEXICAL, self.samples.lexical)
        if self.lexical is not None and self.weights.get("lexical"):
            self.lexical.save(folder)
        if self._ann is not None:
            self._ann.save(folder)
        if self.reranker is not None:
            self.reranker.save(folder)
        manifest = {**self.manifest, "format": FORMAT, "models": self.models, "weights": self.weights}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return folder


def load_retriever(
    folder: str | Path, catalog: Any, embedder: Embedder | None = None, ann_min_models: int = ANN_MIN_MODELS
) -> Retriever:
    """A saved retriever against `catalog`: the one it was trained on, a superset (models added
    since rank through the untrained path only after retraining) or a part of it (ranks among the
    part's models). ValueError when the catalog holds none of its models."""
    folder = Path(folder)
    if not (folder / MANIFEST).exists():
        raise ValueError(f"{folder} is not a retriever folder: no {MANIFEST}")
    manifest = json.loads((folder / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{folder} has format {manifest.get('format')!r}, expected {FORMAT!r}")
    models = manifest["models"]
    keep = np.array([i for i, m in enumerate(models) if m in catalog], dtype=np.int64)
    if len(keep) == 0:
        raise ValueError(
            f"retriever {folder} was trained on catalog {manifest.get('catalog_fingerprint')}; "
            f"none of its {len(models)} models are in catalog {catalog.fingerprint}, e.g. {models[:3]}"
        )
    embedder = embedder or Embedder(manifest.get("base_embedder"))
    samples = np.load(folder / "samples.npz")
    settings = json.loads((folder / "samples.json").read_text())
    lexical = CharCentroids.load(folder) if manifest["weights"].get("lexical") else None
    dense, bias = np.load(folder / "model_matrix.npy"), np.load(folder / "model_bias.npy")
    vectors, owners = samples["vectors"], samples["model_index"]
    voters = int(samples["voters"]) if "voters" in samples else len(owners)  # older folders: all sft
    # Folders from before the sample n-grams were kept rank samples for settings densely.
    samples_lexical = (
        sparse.load_npz(folder / SAMPLES_LEXICAL).tocsr() if (folder / SAMPLES_LEXICAL).exists() else None
    )
    ann = AnnIndex.load(folder, len(models)) if len(models) > ann_min_models else None
    if len(keep) < len(models):
        # A part of the training catalog (say, one architecture's models): rank among those only.
        position = np.full(len(models), -1, dtype=np.int64)
        position[keep] = np.arange(len(keep))
        rows = np.flatnonzero(position[owners] >= 0)
        voters = int(np.sum(rows < voters))  # rows stay in order: the sft ones first
        vectors, owners, settings = vectors[rows], position[owners[rows]], [settings[i] for i in rows]
        samples_lexical = samples_lexical[rows] if samples_lexical is not None else None
        dense, bias, models, ann = dense[keep], bias[keep], [models[i] for i in keep], None
        if lexical is not None:
            lexical = CharCentroids(lexical.idf_prompt, lexical.idf_negative, lexical.centroids[keep])
    return Retriever(
        models,
        dense,
        bias,
        manifest["weights"],
        SampleTable(vectors, owners, settings, lexical=samples_lexical, voters=voters),
        embedder,
        [catalog.by_model[m] for m in models],
        lexical,
        manifest,
        ann,
        ann_min_models,
        Reranker.load(folder),
    )
