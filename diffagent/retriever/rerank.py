"""The learned reranker: a small listwise network over the fused ranking's first candidates.

The fused score is a fixed weighted sum of z-scores, one weight per signal for every query. What
it cannot say: that a trigger-word match should outrank everything when it is strong and count
for little when it is weak, that a model with many sft samples is a safer top-1 than one seen
once, that a LoRA wins when the lexical and trigger signals agree. A two-layer network over each
candidate's signals can, and it is trained where the fused ranking is blind: on out-of-fold sft
rows (`crossfit`), thousands of queries where fusion weights see a few hundred rrhf ones.

Per candidate (`candidate_features`): the fused score, its gap to the query's best, the log of its
position, each fused signal's z-score, the log of its model's sft sample count, and whether it is
a LoRA. Trained with cross-entropy over each query's candidates (the true model is the class),
early-stopped on rrhf, kept only when it raises the rrhf objective over the fused order.
Inference is plain numpy; the saved file holds arrays only (no pickle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffagent.retriever.fusion import signal_zscores, top_k, weighted_sum

RERANK_FILE = "reranker.npz"
CANDIDATES = 30  # rows reranked per query: on the dev capture the true model is among them 95 %
HIDDEN = 16
EPOCHS = 40
FIXED_FEATURES = ("fused", "gap", "log_position")
MODEL_FEATURES = ("log_samples", "lora")


def feature_names(signals: Sequence[str]) -> list[str]:
    return [*FIXED_FEATURES, *(f"z_{s}" for s in signals), *MODEL_FEATURES]


def candidate_features(
    fused: np.ndarray, zscores: dict[str, np.ndarray], log_samples: np.ndarray, lora: np.ndarray
) -> np.ndarray:
    """(queries, candidates, features) from each candidate's fused score (queries, candidates),
    best first; each signal's z-score at the candidates (`zscores`, same shape, in the order of
    `feature_names`); its model's log(1 + sft samples) and LoRA flag (same shape).

    Example: fused [[3, 1]], zscores {dense: [[2, 0]]}, log_samples [[0.69, 0]], lora [[0, 1]]
    -> [[[3, 0, 0, 2, 0.69, 0], [1, -2, 0.69, 0, 0, 1]]] (log position: log 1 = 0, log 2 = 0.69).
    """
    fused = np.asarray(fused, np.float32)
    position = np.log1p(np.broadcast_to(np.arange(fused.shape[1], dtype=np.float32), fused.shape))
    columns = [fused, fused - fused[:, :1], position, *zscores.values(), log_samples, lora]
    return np.stack([np.asarray(c, np.float32) for c in columns], axis=-1)


def fused_candidates(
    signals: dict[str, np.ndarray], weights: dict[str, float], n: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The n best rows of the fused ranking over (queries, models) `signals` (queries, n), best
    first; their fused scores, and each weighted signal's z-score at them."""
    zscores = signal_zscores(signals, weights)
    fused = weighted_sum(zscores, weights)
    rows = top_k(fused, n)
    return (
        rows,
        np.take_along_axis(fused, rows, axis=1),
        {name: np.take_along_axis(z, rows, axis=1) for name, z in zscores.items()},
    )


def features_at(
    signals: Sequence[str],
    rows: np.ndarray,
    fused: np.ndarray,
    zscores: dict[str, np.ndarray],
    log_samples: np.ndarray,
    lora: np.ndarray,
) -> np.ndarray:
    """`candidate_features` of candidate `rows` (queries, candidates), their model facts read from
    the per-model `log_samples` and `lora`; the z-scores taken in the order of `signals`."""
    missing = [name for name in signals if name not in zscores]
    if missing:
        raise ValueError(f"reranker needs signals {missing}, which this retriever does not compute")
    return candidate_features(fused, {name: zscores[name] for name in signals}, log_samples[rows], lora[rows])


def reranked_rows(
    reranker: Reranker,
    rows: np.ndarray,
    fused: np.ndarray,
    zscores: dict[str, np.ndarray],
    log_samples: np.ndarray,
    lora: np.ndarray,
    n: int,
) -> list[list[tuple[int, float]]]:
    """Top-n (row, reranker score) per query from its fused candidates (`fused_candidates`)."""
    features = features_at(reranker.signals, rows, fused, zscores, log_samples, lora)
    order, scores = reranker.order(features)
    picked = np.take_along_axis(rows, order, axis=1)[:, :n]
    return [
        [(int(r), float(s)) for r, s in zip(row, score, strict=False)]
        for row, score in zip(picked, scores[:, :n], strict=True)
    ]


@dataclass
class Reranker:
    """Scores (queries, candidates, features) arrays: relu(standardized x W1 + b1) w2."""

    signals: list[str]  # the fused signals whose z-scores are features, in order
    mean: np.ndarray
    std: np.ndarray
    w1: np.ndarray  # (features, hidden)
    b1: np.ndarray
    w2: np.ndarray  # (hidden,)
    candidates: int = CANDIDATES

    def scores(self, features: np.ndarray) -> np.ndarray:
        if features.shape[-1] != len(self.mean):
            raise ValueError(f"reranker takes {len(self.mean)} features, got {features.shape[-1]}")
        hidden = np.maximum((features - self.mean) / self.std @ self.w1 + self.b1, 0.0)
        return (hidden @ self.w2).astype(np.float32)

    def order(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per query, the candidate positions best first (ties: the fused order) and their scores."""
        scores = self.scores(features)
        order = np.argsort(-scores, axis=1, kind="stable")
        return order, np.take_along_axis(scores, order, axis=1)

    def save(self, folder: str | Path) -> None:
        arrays = {k: getattr(self, k) for k in ("mean", "std", "w1", "b1", "w2")}
        np.savez(
            Path(folder) / RERANK_FILE, signals=np.array(self.signals), candidates=self.candidates, **arrays
        )

    @classmethod
    def load(cls, folder: str | Path) -> Reranker | None:
        file = Path(folder) / RERANK_FILE
        if not file.exists():
            return None
        with np.load(file, allow_pickle=False) as saved:
            return cls(
                [str(s) for s in saved["signals"]],
                *(saved[k] for k in ("mean", "std", "w1", "b1", "w2")),
                candidates=int(saved["candidates"]),
            )


def reranked_rates(order_scores: np.ndarray, truth_position: np.ndarray) -> dict[str, float]:
    """top-1 and top-5 hit rates when each query's candidates are ordered by `order_scores`
    (higher first; ties keep the candidate order) and its truth sits at `truth_position` (-1: not
    a candidate, a miss at any k).

    Example: scores [[.1, .9], [.5, .2]], truth [0, 0]: query 1 ranks its truth 2nd (top-5 only),
    query 2 1st -> top-1 0.5, top-5 1.0.
    """
    order = np.argsort(-np.asarray(order_scores), axis=1, kind="stable")
    rank = np.argmax(order == np.asarray(truth_position)[:, None], axis=1)
    found = np.asarray(truth_position) >= 0
    return {"top1": float(np.mean(found & (rank == 0))), "top5": float(np.mean(found & (rank < 5)))}


def reranked_objective(order_scores: np.ndarray, truth_position: np.ndarray) -> float:
    """What training maximises: top-1 + top-5 of `reranked_rates` (the fusion weights' objective)."""
    return sum(reranked_rates(order_scores, truth_position).values())


def train_reranker(
    train_x: np.ndarray,
    train_truth: np.ndarray,
    valid_x: np.ndarray,
    valid_truth: np.ndarray,
    signals: Sequence[str],
    epochs: int = EPOCHS,
    seed: int = 0,
) -> tuple[Reranker | None, dict]:
    """Fit on (queries, candidates, features) rows with the truth's candidate position (-1: not
    among them; such queries teach nothing and are left out); early stopping on the validation
    objective. Returns None (and the history) when no epoch beats the fused order on validation."""
    import torch

    torch.manual_seed(seed)
    flat = train_x.reshape(-1, train_x.shape[-1])
    mean, std = flat.mean(0), flat.std(0) + 1e-6
    keep = train_truth >= 0
    x = torch.tensor((train_x[keep] - mean) / std, dtype=torch.float32)
    y = torch.tensor(train_truth[keep], dtype=torch.long)
    network = torch.nn.Sequential(
        torch.nn.Linear(x.shape[-1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1, bias=False)
    )
    optimizer = torch.optim.AdamW(network.parameters(), lr=3e-3, weight_decay=1e-2)

    def current() -> Reranker:
        first, second = network[0], network[2]
        return Reranker(
            list(signals),
            mean.astype(np.float32),
            std.astype(np.float32),
            first.weight.detach().numpy().T.copy(),
            first.bias.detach().numpy().copy(),
            second.weight.detach().numpy()[0].copy(),
            train_x.shape[1],
        )

    fused_order = -np.arange(valid_x.shape[1], dtype=np.float32)[None, :].repeat(len(valid_x), 0)
    baseline = reranked_objective(fused_order, valid_truth)
    best: tuple[float, int, Reranker | None] = (baseline, 0, None)
    history = {"fused_objective": round(baseline, 4), "valid_objective": []}
    for epoch in range(1, epochs + 1):
        for batch in torch.randperm(len(x)).split(64):
            loss = torch.nn.functional.cross_entropy(network(x[batch]).squeeze(-1), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model = current()
        score = reranked_objective(model.scores(valid_x), valid_truth)
        history["valid_objective"].append(round(score, 4))
        if score > best[0] + 1e-9:
            best = (score, epoch, model)
    history["best_epoch"] = best[1]
    return best[2], history
