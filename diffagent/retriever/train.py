"""`train_retriever`: a trained selector from a DABench's sft split, validated on its rrhf split.

Steps: encode sft and rrhf instructions with the base embedder; model vectors from sft centroids
(cards for models with none); a classification head over them with early stopping; the lexical
signals and the nearest samples' votes; fusion weights tuned on rrhf. Every figure the choices
rest on goes into the manifest.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from diffagent.catalog import load_catalog
from diffagent.retriever.build import dense_vectors, encode_rows, sample_labels, sample_table
from diffagent.retriever.dense import NEGATIVE_WEIGHT, train_head
from diffagent.retriever.embedder import Embedder
from diffagent.retriever.fusion import RESAMPLES, bagged_weights, fuse, hit_rates
from diffagent.retriever.lexical import CardBM25, CharCentroids, TriggerWords
from diffagent.retriever.model import Retriever, card_text
from diffagent.retriever.neighbours import neighbour_votes
from diffagent.storage import ArtifactStore

log = logging.getLogger(__name__)


@dataclass
class RetrieverConfig:
    epochs: int = field(default=30, metadata={"help": "Head training epochs (0: centroids only)."})
    temperature: float = field(default=10.0, metadata={"help": "Logit scale of the head."})
    learning_rate: float = field(default=1e-2, metadata={"help": "Adam learning rate of the head."})
    batch_size: int = field(default=128, metadata={"help": "Head training batch size."})
    negative_weight: float = field(
        default=NEGATIVE_WEIGHT, metadata={"help": "Weight of the negative prompt."}
    )
    seed: int = field(default=0, metadata={"help": "Shuffling and resampling seed."})
    fusion_resamples: int = field(
        default=RESAMPLES,
        metadata={"help": "Bootstrap resamples averaged for fusion weights (0: tune once)."},
    )


def split_rows(data: Path, split: str) -> list[dict]:
    file = Path(data) / "splits" / f"{split}.parquet"
    if not file.exists():
        raise FileNotFoundError(f"no {split} split at {file}")
    rows = ArtifactStore(str(data)).read_table(f"splits/{split}.parquet").to_pylist()
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
    vectors = dense_vectors(embedder, entries, train_x, train_y, progress=True)
    encoded_s = time.perf_counter() - started

    weight, bias, history = train_head(
        vectors,
        train_x,
        train_y,
        valid_x,
        valid_y,
        config.epochs,
        config.temperature,
        config.learning_rate,
        config.batch_size,
        config.seed,
    )
    head_s = time.perf_counter() - started - encoded_s
    prompts = [r["prompt"] for r in valid_rows]
    negatives = [r["negative_prompt"] for r in valid_rows]
    lexical = CharCentroids.fit(
        [r["prompt"] for r in train_rows], [r["negative_prompt"] for r in train_rows], train_y, len(models)
    )
    signals = {
        "dense": valid_x @ weight.T + bias,
        "lexical": lexical.scores(prompts, negatives),
        "triggers": TriggerWords([e.get("trained_words") or [] for e in entries]).scores(prompts),
        "bm25": CardBM25([card_text(e) for e in entries]).scores(prompts),
        "neighbours": neighbour_votes(valid_x @ train_x.T, train_y, len(models)),
    }
    weights = bagged_weights(signals, valid_y, "dense", config.fusion_resamples, config.seed)
    validation = {name: _rates(s, valid_y) for name, s in signals.items()}
    validation["centroids"] = _rates(valid_x @ vectors.T, valid_y)
    validation["fused"] = _rates(fuse(signals, weights), valid_y)
    # Each kept signal's contribution: the fused rates without it (optimistic: tuned on rrhf too).
    validation["fused_without"] = {
        name: _rates(fuse(signals, {**weights, name: 0.0}), valid_y)
        for name, weight in weights.items()
        if weight and name != "dense"
    }
    manifest = {
        "trained": True,
        "base_embedder": embedder.name,
        "catalog_fingerprint": catalog.fingerprint,
        "data": str(data),
        "config": asdict(config),
        "pairs": {"sft": len(train_rows), "rrhf": len(valid_rows)},
        "head": history,
        "validation": validation,
        "train_seconds": round(time.perf_counter() - started, 1),
        "encode_seconds": round(encoded_s, 1),
        "head_seconds": round(head_s, 1),  # the rest: lexical signals and the fusion weights
    }
    retriever = Retriever(
        models,
        weight,
        bias,
        weights,
        sample_table(
            train_x, train_y, train_rows, lexical.fitted_features if weights.get("lexical") else None
        ),
        embedder,
        entries,
        lexical,
        manifest,
    )
    retriever.save_pretrained(out)
    log.info("retriever: validation %s, weights %s", validation["fused"], weights)
    return {**manifest, "weights": weights}
