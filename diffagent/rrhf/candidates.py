"""RRHF candidates: what the SFT agent itself answers for each alignment prompt, unconstrained.

Per prompt: `num_samples` multinomial samples (temperature a parameter) plus G groups x B beams of
diverse beam search, all from free (unconstrained) generation, so the SFT model's own mistakes,
hallucinated models included, are seen and counted before reconstruction filters them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from diffagent.agent.backend import Backend, DiverseBeams, Sampling


@dataclass
class CandidateParams:
    num_samples: int = 4  # multinomial samples per prompt
    temperature: float = 0.8
    top_p: float = 1.0
    num_beam_groups: int = 4
    beams_per_group: int = 1
    diversity_penalty: float = 1.0
    max_new_tokens: int = 128
    batch_size: int = 8  # prompts per generate call
    seed: int = 0

    def __post_init__(self) -> None:
        if self.num_samples < 0 or self.num_beam_groups < 0:
            raise ValueError(
                f"num_samples={self.num_samples} and num_beam_groups={self.num_beam_groups} must be >= 0"
            )
        if self.num_samples + self.num_beam_groups == 0:
            raise ValueError("need at least one sample or one beam group per prompt")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


def generate_candidates(
    backend: Backend,
    prompts: Sequence[Sequence[int]],
    params: CandidateParams | None = None,
    progress: bool = True,
) -> list[list[tuple[str, str]]]:
    """For each tokenised prompt, [(source, text)] with source "sample" or "beam", through the
    backend's interface (transformers or vLLM), in batches of `params.batch_size` prompts."""
    params = params or CandidateParams()
    results: list[list[tuple[str, str]]] = []
    starts = range(0, len(prompts), params.batch_size)
    for start in tqdm(starts, desc="candidates", unit="batch", disable=not progress):
        batch = [list(p) for p in prompts[start : start + params.batch_size]]
        per_prompt: list[list[tuple[str, str]]] = [[] for _ in batch]
        if params.num_samples:
            # Each batch its own seed: reruns repeat, batches differ.
            spec = Sampling(
                params.num_samples,
                params.temperature,
                params.top_p,
                params.max_new_tokens,
                params.seed + start,
            )
            sampled = backend.sample(batch, spec)
            for row, texts in enumerate(sampled):
                per_prompt[row] += [("sample", text) for text in texts]
        if params.num_beam_groups:
            spec = DiverseBeams(
                params.num_beam_groups,
                params.beams_per_group,
                params.diversity_penalty,
                params.max_new_tokens,
            )
            beams = backend.diverse_beams(batch, spec)
            for row, texts in enumerate(beams):
                per_prompt[row] += [("beam", text) for text in texts]
        results.extend(per_prompt)
    return results
