"""RRHF candidates: what the SFT agent itself answers for each alignment prompt, unconstrained.

Per prompt: `num_samples` multinomial samples (temperature a parameter) plus G groups x B beams of
diverse beam search, all from free (unconstrained) generation, so the SFT model's own mistakes,
hallucinated models included, are seen and counted before reconstruction filters them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

from diffagent.rrhf.diverse_beam import diverse_beam_search


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


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ids and attention mask [N, L] (decoder-only generation continues at the right)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids, mask


def decode_new(tokenizer: Any, generated: Sequence[int], eos_id: int | None) -> str:
    """Text of the generated tokens, up to the first EOS, special tokens dropped."""
    tokens = list(generated)
    if eos_id is not None and eos_id in tokens:
        tokens = tokens[: tokens.index(eos_id)]
    return tokenizer.decode(tokens, skip_special_tokens=True)


@torch.no_grad()
def generate_candidates(
    model: torch.nn.Module,
    tokenizer: Any,
    prompts: Sequence[Sequence[int]],
    params: CandidateParams | None = None,
    progress: bool = True,
) -> list[list[tuple[str, str]]]:
    """For each tokenised prompt, [(source, text)] with source "sample" or "beam"."""
    params = params or CandidateParams()
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    device = next(model.parameters()).device
    model.eval()
    torch.manual_seed(params.seed)
    results: list[list[tuple[str, str]]] = []
    starts = range(0, len(prompts), params.batch_size)
    for start in tqdm(starts, desc="candidates", unit="batch", disable=not progress):
        batch = prompts[start : start + params.batch_size]
        ids, mask = left_pad(batch, pad)
        ids, mask = ids.to(device), mask.to(device)
        width = ids.shape[1]
        per_prompt: list[list[tuple[str, str]]] = [[] for _ in batch]
        if params.num_samples:
            sampled = model.generate(
                input_ids=ids,
                attention_mask=mask,
                do_sample=True,
                temperature=params.temperature,
                top_p=params.top_p,
                top_k=0,
                num_return_sequences=params.num_samples,
                max_new_tokens=params.max_new_tokens,
                eos_token_id=eos,
                pad_token_id=pad,
            )
            for row, sequence in enumerate(sampled.tolist()):
                per_prompt[row // params.num_samples].append(
                    ("sample", decode_new(tokenizer, sequence[width:], eos))
                )
        if params.num_beam_groups:
            beams = diverse_beam_search(
                model,
                ids,
                mask,
                num_beam_groups=params.num_beam_groups,
                beams_per_group=params.beams_per_group,
                diversity_penalty=params.diversity_penalty,
                max_new_tokens=params.max_new_tokens,
                eos_token_id=eos,
                pad_token_id=pad,
            )
            for row in range(len(batch)):
                for sequence in beams.sequences[row].tolist():
                    per_prompt[row].append(("beam", decode_new(tokenizer, sequence[width:], eos)))
        results.extend(per_prompt)
    return results
