"""Constrained greedy decoding that fast-forwards through tokens the constraint forces.

Most of an answer is fixed once the model has chosen: the JSON keys and punctuation, `type` and
`base_model` (catalog facts of the chosen model), the rest of a model name once its trie branch is
unique, `}` and EOS. When the constraint allows exactly one next token, that token is appended
without asking the model, and the whole run of forced tokens is fed to the model in ONE forward pass
(its keys and values join the KV cache together). The model is only consulted where the
constraint leaves a real choice, so an answer costs about one forward pass per decision instead of
one per token. Greedy choices are the same as step-by-step decoding: the logits at a decision
point see exactly the same prefix.

Rows of a batch advance by different numbers of tokens per pass: each pass's chunk is right-padded
with masked pad tokens (the 2-D attention mask carries the holes; position ids count real tokens
only), the prompt itself is left-padded as in `generate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Decoded:
    """One row's answer: its tokens (EOS included), the model's log-probability of each token that
    was fed to the model (a prefix of `tokens`: the forced run after the last decision is never fed),
    the number of model decisions (argmax among two or more allowed tokens) and of forward passes
    the row took part in."""

    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    decisions: int = 0
    forward_passes: int = 0


def forced_run(constraint: Any, row: int, generated: list[int]) -> list[int]:
    """The tokens the constraint forces after `generated` (each the only allowed token), up to and
    including EOS; empty when the next token is a real choice.

    Example: after `..."cfg_scale": 7.5` the cfg trie offers nothing longer, so the run is `}` then
    EOS; after `{"model": ` with two catalog models it is empty.
    """
    run: list[int] = []
    while True:
        allowed = constraint.allowed(row, tuple(generated + run))
        if len(allowed) != 1:
            return run
        run.append(allowed[0])
        if allowed[0] == constraint.eos:
            return run


def _forward(
    model: Any, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any, keep: int
):
    """One model call over a chunk; logits for the last `keep` positions only (the prompt's are not
    needed, and on a 32k-vocabulary model they would dominate memory)."""
    return model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        cache=cache,
        use_cache=True,
        logits_to_keep=keep,
    )


def fast_forward_greedy(
    model: Any, constraint: Any, prompts: list[list[int]], pad_id: int, max_new_tokens: int
) -> list[Decoded]:
    """Greedy constrained answers for a batch of prompt token lists (see the module docstring).

    `constraint` is a prepared `AnswerConstraint` (row i = prompts[i], generated tokens counted from
    the answer start). Raises RuntimeError when a row has not finished within `max_new_tokens`.
    """
    device = next(model.parameters()).device
    rows = [Decoded() for _ in prompts]
    done = [False] * len(prompts)
    # fed[i]: answer tokens of row i in the chunk just fed; vectors[i]: log-probabilities, one row
    # per token of fed[i] (predicting it) plus a last one predicting the next token.
    fed = [forced_run(constraint, i, []) for i in range(len(prompts))]
    # Prefill: prompt + opening forced run, left-padded so that every row ends at the last column.
    chunks = [p + f for p, f in zip(prompts, fed, strict=True)]
    width = max(len(c) for c in chunks)
    ids = torch.full((len(chunks), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(chunks), width), dtype=torch.long)
    for i, chunk in enumerate(chunks):
        ids[i, width - len(chunk) :] = torch.tensor(chunk, dtype=torch.long)
        mask[i, width - len(chunk) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    keep = max(len(f) for f in fed) + 1
    out = _forward(model, ids.to(device), mask.to(device), positions.to(device), None, keep)
    logits = torch.log_softmax(out.logits.float(), -1).cpu()
    vectors = [logits[i, keep - len(fed[i]) - 1 :] for i in range(len(rows))]
    cache, full_mask = out.cache, mask
    for i, row in enumerate(rows):
        row.tokens += fed[i]
        row.forward_passes += 1
    while True:
        nexts: list[list[int]] = []
        for i, row in enumerate(rows):
            if done[i]:
                nexts.append([])
                continue
            row.logprobs += [vectors[i][j, t].item() for j, t in enumerate(fed[i])]
            allowed = constraint.allowed(i, tuple(row.tokens))
            token = allowed[int(vectors[i][-1, allowed].argmax())]
            row.decisions += 1
            chunk = [token, *forced_run(constraint, i, [*row.tokens, token])]
            row.tokens += chunk
            if len(row.tokens) > max_new_tokens:
                raise RuntimeError(f"constrained decoding did not finish within {max_new_tokens} tokens")
            done[i] = chunk[-1] == constraint.eos
            # A chunk that ends with EOS completes the answer: nothing after it needs the model.
            nexts.append([] if done[i] else chunk)
        if all(done):
            return rows
        fed = nexts
        width = max(len(f) for f in fed)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, chunk in enumerate(fed):
            ids[i, : len(chunk)] = torch.tensor(chunk, dtype=torch.long)
            mask[i, : len(chunk)] = 1
        positions = full_mask.sum(-1, keepdim=True) + torch.arange(width)  # real tokens so far + j
        full_mask = torch.cat([full_mask, mask], -1)
        out = _forward(model, ids.to(device), full_mask.to(device), positions.to(device), cache, width)
        cache = out.cache
        logits = torch.log_softmax(out.logits.float(), -1).cpu()
        for i, chunk in enumerate(fed):
            if chunk:  # the previous last vector predicted chunk[0], the decided token
                vectors[i] = torch.cat([vectors[i][-1:], logits[i, : len(chunk)]])
                rows[i].forward_passes += 1
