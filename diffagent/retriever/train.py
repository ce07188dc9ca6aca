"""`train_retriever`: a trained selector from a DABench's sft split, validated on its rrhf split.

Steps: encode sft and rrhf instructions with the base embedder; model vectors from sft centroids
(cards for models with none); a classification head over them with early stopping; the lexical
signals and the nearest samples' votes; fusion weights tuned on rrhf. Every figure the choices
rest on goes into the manifest.

The sentence encoder stays frozen. Fine-tuned jointly with the head on the dev capture (one epoch,
AdamW at 2e-5 or 6e-5, batches of 32), it raised the dense signal's rrhf top-1/top-5 from 47.1/76.0
to 48.0/78.2 % (eval: 45.8/75.6 -> 47.1/76.4) for 217 s an epoch over 1,800 pairs on a 2-core CPU:
about 20 minutes at 10,000 pairs, the whole training budget, for one point before fusion.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import scipy.sparse as sparse

from diffagent.catalog import load_catalog
from diffagent.retriever.build import card_embeddings, dense_vectors, encode_rows, sample_labels, sample_table
from diffagent.retriever.config import RetrieverConfig
from diffagent.retriever.crossfit import candidate_inputs, out_of_fold_inputs
from diffagent.retriever.dense import train_head
from diffagent.retriever.embedder import Embedder
from diffagent.retriever.fusion import bagged_weights, fuse, hit_rates, used_signals
from diffagent.retriever.lexical import CharCentroids
from diffagent.retriever.model import Retriever
from diffagent.retriever.rerank import CANDIDATES, Reranker, reranked_rates, train_reranker
from diffagent.storage import ArtifactStore

log = logging.getLogger(__name__)
# Every signal a trained retriever computes; fusion weights decide which it keeps.
SIGNALS = ("dense", "lexical", "triggers", "bm25", "neighbours")


def split_rows(data: str | Path, split: str) -> list[dict]:
    """The rows of a DABench split; `data` is a folder or an fsspec URL (s3://...), both read
    through the artifact store (a `Path` would mangle a URL and look for it on the local disk)."""
    store, name = ArtifactStore(str(data)), f"splits/{split}.parquet"
    if not store.exists(name):
        raise FileNotFoundError(f"no {split} split at {store.url(name)}")
    rows = store.read_table(name).to_pylist()
    for row in rows:
        row["negative_prompt"] = row.get("negative_prompt") or ""
    return rows


def _rates(scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    rates = hit_rates(scores, truth)
    return {"top1": round(rates[1], 4), "top5": round(rates[5], 4)}


def train_retriever(
    data: str | Path, out: str | Path, base_embedder: str | None = None, config: RetrieverConfig | None = None
) -> dict:
    """Train on `data` (a DABench folder) and write the retriever folder `out`; returns the manifest."""
    config = config or RetrieverConfig()
    started = time.perf_counter()
    catalog = load_catalog(data)
    embedder = Embedder(base_embedder)
    models = list(catalog.selectable)
    entries = [catalog.by_model[m] for m in models]
    train_rows, train_y = sample_labels(split_rows(data, "sft"), models)
    valid_rows, valid_y = sample_labels(split_rows(data, "rrhf"), models)
    if not train_rows or not valid_rows:
        raise ValueError(
            f"{data} needs sft and rrhf rows of catalog models ({len(train_rows)}, {len(valid_rows)})"
        )
    train_x = encode_rows(embedder, train_rows, progress=True)
    valid_x = encode_rows(embedder, valid_rows, progress=True)
    cards = card_embeddings(embedder, entries, progress=True)
    encoded_s = time.perf_counter() - started

    def fit(rows: np.ndarray) -> tuple[Retriever, dict]:
        """Every signal fitted on the sft rows `rows` (head early-stopped on rrhf), all weighted 1."""
        x, y = train_x[rows], train_y[rows]
        weight, bias, history = train_head(
            dense_vectors(cards, x, y),
            x,
            y,
            valid_x,
            valid_y,
            config.epochs,
            config.temperature,
            config.learning_rate,
            config.batch_size,
            config.seed,
        )
        picked = [train_rows[i] for i in rows]
        prompts, negatives = [r["prompt"] for r in picked], [r["negative_prompt"] for r in picked]
        lexical = CharCentroids.fit(prompts, negatives, y, len(models), config.max_ngrams or None)
        table = sample_table(x, y, picked, lexical.fitted_features)
        everything = dict.fromkeys(SIGNALS, 1.0)
        return Retriever(models, weight, bias, everything, table, embedder, entries, lexical), history

    full, history = fit(np.arange(len(train_rows)))
    head_s = time.perf_counter() - started - encoded_s
    prompts = [r["prompt"] for r in valid_rows]
    negatives = [r["negative_prompt"] for r in valid_rows]
    signals = full.signals(prompts, negatives, valid_x)
    weights = bagged_weights(signals, valid_y, "dense", config.fusion_resamples, config.seed)
    validation = {name: _rates(s, valid_y) for name, s in signals.items()}
    validation["centroids"] = _rates(valid_x @ dense_vectors(cards, train_x, train_y).T, valid_y)
    validation["fused"] = _rates(fuse(signals, weights), valid_y)
    # Each kept signal's contribution: the fused rates without it (optimistic: tuned on rrhf too).
    validation["fused_without"] = {
        name: _rates(fuse(signals, {**weights, name: 0.0}), valid_y)
        for name, weight in weights.items()
        if weight and name != "dense"
    }
    reranker, reranking = None, None
    if config.folds:
        reranker, reranking = _reranker(
            fit, full, (train_rows, train_x, train_y), (valid_rows, valid_x, valid_y), weights, config
        )
        if reranker is not None:
            validation["reranked"] = reranking.pop("reranked")
    manifest = {
        "trained": True,
        "base_embedder": embedder.name,
        "catalog_fingerprint": catalog.fingerprint,
        "data": str(data),
        "config": asdict(config),
        "pairs": {"sft": len(train_rows), "rrhf": len(valid_rows)},
        "head": history,
        "reranker": reranking,
        "validation": validation,
        "train_seconds": round(time.perf_counter() - started, 1),
        "encode_seconds": round(encoded_s, 1),
        "head_seconds": round(head_s, 1),  # the rest: fusion weights and the reranker's folds
    }
    lexical = full.lexical if weights.get("lexical") else None
    # The settings read the rrhf samples too (after the sft ones, which alone vote in the ranking).
    table = sample_table(
        np.concatenate([train_x, valid_x]),
        np.concatenate([train_y, valid_y]),
        train_rows + valid_rows,
        sparse.vstack([full.samples.lexical, full.lexical.query_features(prompts, negatives)]).tocsr()
        if lexical is not None
        else None,
        voters=len(train_rows),
    )
    retriever = Retriever(
        models, full.dense, full.bias, weights, table, embedder, entries, lexical, manifest, reranker=reranker
    )
    # `out` may be a URL (s3://...): written in a local folder, then put there.
    with ArtifactStore(str(out)).local_folder("") as folder:
        retriever.save_pretrained(folder)
    log.info("retriever: validation %s, weights %s", validation["fused"], weights)
    return {**manifest, "weights": weights}


def _reranker(
    fit: Callable[[np.ndarray], tuple[Retriever, dict]],
    full: Retriever,
    train: tuple[list[dict], np.ndarray, np.ndarray],
    valid: tuple[list[dict], np.ndarray, np.ndarray],
    weights: dict[str, float],
    config: RetrieverConfig,
) -> tuple[Reranker | None, dict]:
    """The reranker trained on out-of-fold sft candidates (`train`: rows, features, labels),
    early-stopped on rrhf (`valid`); None when it does not beat the fused order there, or when
    the sft prompts fill fewer than two folds. Returns it and what its training recorded."""
    started = time.perf_counter()
    out_of_fold = out_of_fold_inputs(lambda rows: fit(rows)[0], *train, weights, CANDIDATES, config.folds)
    if out_of_fold is None:
        return None, {"kept": False, "skipped": f"the {len(train[0])} sft prompts fill fewer than two folds"}
    valid_inputs, valid_truth = candidate_inputs(full, *valid, weights, CANDIDATES)
    reranker, history = train_reranker(
        *out_of_fold, valid_inputs, valid_truth, used_signals(weights, SIGNALS), seed=config.seed
    )
    history |= {
        "kept": reranker is not None,
        "queries": len(out_of_fold[1]),
        "candidate_recall": round(float(np.mean(valid_truth >= 0)), 4),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if reranker is not None:
        rates = reranked_rates(reranker.scores(valid_inputs), valid_truth)
        history["reranked"] = {k: round(v, 4) for k, v in rates.items()}
    return reranker, history
