"""The one interface every decoding backend offers: selection, evaluation and RRHF candidates use
only this, so the transformers backend (CPU or GPU, the tested path) and vLLM (GPU serving) are
interchangeable and nothing reaches into a backend's model.

Prompts are token ids (`generate.encode_prompt`), so every backend sees the same conversation.
Counts a backend cannot observe (vLLM schedules forward passes itself) are None, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    from diffagent.catalog import Catalog


class Answer(NamedTuple):
    """One constrained answer: fields, score (mean log-probability of the model-choice tokens),
    answer tokens (EOS included), model decisions (tokens chosen by argmax among two or more
    allowed) and forward passes it took part in; None where the backend cannot tell."""

    fields: dict
    score: float
    tokens: int
    decisions: int | None
    forward_passes: int | None


class Generation(NamedTuple):
    """One free (unconstrained) answer: its text and tokens generated (EOS included), and the
    decisions and forward passes it cost (None where the backend cannot tell)."""

    text: str
    tokens: int
    decisions: int | None
    forward_passes: int | None


@dataclass(frozen=True)
class Sampling:
    """Multinomial sampling of free answers: `num_samples` per prompt."""

    num_samples: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int


@dataclass(frozen=True)
class DiverseBeams:
    """Group-diverse beam search of free answers: `num_beam_groups * beams_per_group` per prompt."""

    num_beam_groups: int
    beams_per_group: int
    diversity_penalty: float
    max_new_tokens: int


@runtime_checkable
class Backend(Protocol):
    tokenizer: Any
    catalog: Catalog

    def constrained(
        self, prompts: list[list[int]], top_k: int = 1, shortlists: list[list[str]] | None = None
    ) -> list[list[Answer]]:
        """Per prompt, up to `top_k` catalog answers with distinct models, best first."""
        ...

    def unconstrained(
        self, prompts: list[list[int]], max_new_tokens: int = 256, min_new_tokens: int = 0
    ) -> list[Generation]:
        """Plain greedy generation (the paper's path), one per prompt."""
        ...

    def sample(self, prompts: list[list[int]], spec: Sampling) -> list[list[str]]:
        """`spec.num_samples` sampled texts per prompt (free generation, up to EOS)."""
        ...

    def diverse_beams(self, prompts: list[list[int]], spec: DiverseBeams) -> list[list[str]]:
        """`spec.num_beam_groups * spec.beams_per_group` beam-search texts per prompt, best first."""
        ...

    def for_catalog(self, catalog: Catalog) -> Backend:
        """The same weights choosing from another catalog (e.g. one architecture's part)."""
        ...
