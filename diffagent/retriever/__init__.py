"""The trained retriever: instruction (prompt + negative prompt) -> ranked catalog models.

Signals, each a (queries, models) score matrix, fused by weights tuned on the rrhf split:
  dense     per-model vectors over all-MiniLM-L6-v2 features of prompt and negative prompt
            (initialised from each model's sft samples, or its card when it has none; optionally
            refined by a classification head, kept only when it raises the validation hit rate)
  lexical   character n-gram TF-IDF centroids of each model's sft prompts and negative prompts
  triggers  a model's trained (trigger) words found in the prompt, weighted by rarity
  bm25      BM25 of the prompt against each model's card (name, trained words, tags, description)
Parameters come from the chosen model's sft samples nearest to the prompt (`params.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diffagent.retriever.model import Retriever, load_retriever

__all__ = ["Retriever", "load_retriever"]


def __getattr__(name: str) -> Any:
    """Import the model (scipy, the encoder's code) on first use, not with the package: the CLI
    reads `diffagent.retriever.config` when it starts and should not pay for the rest."""
    if name in __all__:
        from diffagent.retriever import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
