"""RRHF candidates: what the SFT agent itself answers for each alignment prompt, unconstrained.

Per prompt: `num_samples` multinomial samples (temperature a parameter) plus G groups x B beams of
diverse beam search, all from free (unconstrained) generation, so the SFT model's own mistakes,
hallucinated models included, are seen and counted before reconstruction filters them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from diffagent.agent.backend import Backend, DiverseBeams, Sampling


@dataclass
class CandidateParams:
    num_samples: int = field(default=4, metadata={"help": "Multinomial samples per prompt."})
    temperature: float = field(default=0.8, metadata={"help": "Sampling temperature."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling threshold."})
    num_beam_groups: int = field(default=4, metadata={"help": "Diverse beam search groups G."})
    beams_per_group: int = field(default=1, metadata={"help": "Beams per group B."})
    diversity_penalty: float = field(default=1.0, metadata={"help": "Penalty between beam groups."})
    max_new_tokens: int = field(default=128, metadata={"help": "Longest answer generated, in tokens."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per generate call."})
    seed: int = field(default=0, metadata={"help": "Seed of sampling."})

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
