"""`RetrieverConfig`: the training settings of a retriever, with their defaults and help, in one place
(`train_retriever`, the sftA-train stage and the `train retriever` CLI options all read them).

Kept free of the heavy imports (scipy, torch) so that the CLI can read it when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from diffagent.retriever.dense import NEGATIVE_WEIGHT
from diffagent.retriever.fusion import RESAMPLES

# Each model's lexical centroid keeps its 256 strongest n-grams: 2 KB a model, so 1,000,000 models
# fit in 2 GB (all of them: 1,900 on average on the dev capture, 15 GB). On the dev capture's rrhf
# split the cap does not cost: fused top-1/top-5 58.7/88.9 % uncapped, 60.0/88.4 at 256, 59.6/89.8
# at 1,024.
MAX_NGRAMS = 256
FOLDS = 5  # cross-fitting folds of sft for the reranker (`crossfit`)


@dataclass
class RetrieverConfig:
    epochs: int = field(default=30, metadata={"help": "Head training epochs (0: centroids only)."})
    temperature: float = field(default=10.0, metadata={"help": "Logit scale of the head."})
    learning_rate: float = field(default=1e-2, metadata={"help": "Adam learning rate of the head."})
    batch_size: int = field(default=128, metadata={"help": "Head training batch size."})
    negative_weight: float = field(
        default=NEGATIVE_WEIGHT, metadata={"help": "Weight of the negative prompt."}
    )
    max_ngrams: int = field(
        default=MAX_NGRAMS, metadata={"help": "N-grams kept per model's lexical centroid (0: all)."}
    )
    folds: int = field(
        default=FOLDS,
        metadata={"help": "Cross-fitting folds of sft for the learned reranker (0: no reranker)."},
    )
    seed: int = field(
        default=0,
        metadata={"help": "Seed of shuffling, initialisation and resampling (vary it to see the spread)."},
    )
    fusion_resamples: int = field(
        default=RESAMPLES,
        metadata={"help": "Bootstrap resamples averaged for fusion weights (0: tune once)."},
    )


def setting(name: str) -> tuple[object, str]:
    """(default, help) of the `RetrieverConfig` field `name`."""
    for item in fields(RetrieverConfig):
        if item.name == name:
            return item.default, item.metadata["help"]
    raise KeyError(f"RetrieverConfig has no setting {name!r}")
