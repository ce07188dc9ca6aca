"""Dense per-model vectors over sentence-encoder features of an instruction.

An instruction's feature is [e(prompt), w * e(negative prompt)] with e the unit embedding: the
negative prompt carries real signal (model families differ in their negative habits and
embeddings). A model's vector starts as the unit centroid of its sft samples' features; a model
with no sample gets its card's embedding in the prompt half and the mean negative in the other, so
it stays reachable. `train_head` then refines the vectors and a bias with cross-entropy over models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from diffagent.retriever.embedder import normalize

NEGATIVE_WEIGHT = 1.5  # measured on the dev capture's rrhf split: 1.0 -> 76.0 %, 1.5 -> 76.4 % top-5


def instruction_features(
    prompts: np.ndarray, negatives: np.ndarray, negative_weight: float = NEGATIVE_WEIGHT
) -> np.ndarray:
    """(n, 2d) features from (n, d) unit prompt and negative-prompt embeddings."""
    return np.concatenate([prompts, negative_weight * negatives], axis=1).astype(np.float32)


def centroids(
    features: np.ndarray, labels: Sequence[int], cards: np.ndarray, negative_fill: np.ndarray
) -> np.ndarray:
    """(models, 2d) unit vectors: the mean feature of each model's samples; for a model with none,
    [its card embedding, `negative_fill`].

    Example: features [[1,0,0,0],[0,1,0,0]] both of model 0, model 1 has none, cards [[.,.],[0,1]],
    fill [1,0]: model 0 -> [.7071,.7071,0,0]; model 1 -> normalize([0,1,1,0]).
    """
    labels = np.asarray(labels)
    models = len(cards)
    sums = np.zeros((models, features.shape[1]), np.float64)
    np.add.at(sums, labels, features)
    counts = np.bincount(labels, minlength=models)
    empty = counts == 0
    half = cards.shape[1]
    sums[empty, :half] = cards[empty]
    sums[empty, half:] = negative_fill
    return normalize(sums)


def train_head(
    vectors: np.ndarray,
    train_x: np.ndarray,
    train_y: Sequence[int],
    valid_x: np.ndarray,
    valid_y: Sequence[int],
    epochs: int,
    temperature: float = 10.0,
    learning_rate: float = 1e-2,
    batch_size: int = 128,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Cross-entropy over models on logits temperature * x W^T + b, W initialised from `vectors`.

    Early stopping on the validation objective (top-1 + top-5); epoch 0 is the initial vectors,
    so the result is never worse on validation than the centroids. Returns (W, b, history).
    """
    import torch

    from diffagent.retriever.fusion import objective

    torch.manual_seed(seed)
    weight = torch.tensor(vectors * temperature, dtype=torch.float32, requires_grad=True)
    bias = torch.zeros(len(vectors), dtype=torch.float32, requires_grad=True)
    x, y = torch.tensor(train_x), torch.tensor(np.asarray(train_y))
    vx = torch.tensor(valid_x)

    def score() -> float:
        with torch.no_grad():
            return objective((vx @ weight.T + bias).numpy(), valid_y)

    best = (score(), 0, weight.detach().clone(), bias.detach().clone())
    history = {"valid_objective": [round(best[0], 4)]}
    optimizer = torch.optim.Adam([weight, bias], lr=learning_rate)
    for epoch in range(1, epochs + 1):
        for batch in torch.randperm(len(x)).split(batch_size):
            loss = torch.nn.functional.cross_entropy(x[batch] @ weight.T + bias, y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        current = score()
        history["valid_objective"].append(round(current, 4))
        if current > best[0]:
            best = (current, epoch, weight.detach().clone(), bias.detach().clone())
    history["best_epoch"] = best[1]
    return best[2].numpy(), best[3].numpy(), history
