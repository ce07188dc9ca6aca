"""Diverse beam search (Vijayakumar et al. 2016, "Diverse Beam Search"), our own implementation.

transformers 5 removed group beam search from core `generate()` (asking for `num_beam_groups` tries to
download a hub repo, which fails offline: notes/stack.md), so RRHF candidate generation uses this.

The beams are split into G groups of B beams. At each step the groups are expanded in order; group g
picks its B best continuations by

    score(beam, token) = beam_score + log p(token | beam) - lambda * count_<g(token)

where count_<g(token) is how many beams of groups 0..g-1 chose that token at this same step (the
Hamming diversity term of the paper, Eq. 5 with Hamming diversity). Group 0 is plain beam search. As in
the paper's reference code (and transformers <= 4.56), the penalised score is what accumulates.

A beam that has emitted EOS is finished: it only continues with the pad token at no cost, is never
penalised and does not count towards the diversity term, so it stays in its group with a fixed score.

Three layers, each usable alone:
- `diverse_beam_step`: the pure maths of one step on given log-probabilities (tested by hand);
- `diverse_beam_search`: the decoding loop over a Hugging Face causal LM with a KV cache;
- `diverse_beam_generate`: an adapter for `model.generate(custom_generate=diverse_beam_generate, ...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# A large negative number rather than -inf: top-k over a row that is all -inf would give NaN scores.
NEG = -1e9


@dataclass
class StepResult:
    """One step's choices. All tensors are [N, G, B]; `parents` index beams within their own group."""

    scores: torch.Tensor
    parents: torch.Tensor
    tokens: torch.Tensor


def diverse_beam_step(
    beam_scores: torch.Tensor,
    token_logprobs: torch.Tensor,
    diversity_penalty: float = 1.0,
    finished: torch.Tensor | None = None,
    pad_token_id: int = 0,
) -> StepResult:
    """Expand every group by one token with the Hamming diversity penalty.

    Shapes: beam_scores [N, G, B] (or [G, B]), token_logprobs [N, G, B, V] (or [G, B, V]),
    finished [N, G, B] bool. Returns new scores, parent beam (within the group) and chosen token.

    Worked example (N=1, G=2, B=1, V=3 tokens a, b, c, lambda=1, both beams at score 0 and both with
    log-probabilities a=-0.5, b=-1.0, c=-2.0): group 0 takes a (-0.5); for group 1, a already has one
    vote so it scores -0.5 - 1 = -1.5 and b wins with -1.0. With lambda=0.4, a scores -0.9 and wins.
    """
    unbatched = beam_scores.dim() == 2
    if unbatched:
        beam_scores, token_logprobs = beam_scores[None], token_logprobs[None]
        finished = finished[None] if finished is not None else None
    if token_logprobs.dim() != 4 or token_logprobs.shape[:3] != beam_scores.shape:
        raise ValueError(
            f"token_logprobs shape {tuple(token_logprobs.shape)} does not match beam_scores "
            f"{tuple(beam_scores.shape)} + [V]"
        )
    if diversity_penalty < 0:
        raise ValueError(f"diversity_penalty must be >= 0, got {diversity_penalty}")
    n, groups, beams, vocab = token_logprobs.shape
    if finished is None:
        finished = torch.zeros_like(beam_scores, dtype=torch.bool)

    # A finished beam may only add the pad token, for free.
    pad_only = torch.full((vocab,), NEG, dtype=token_logprobs.dtype, device=token_logprobs.device)
    pad_only[pad_token_id] = 0.0
    logprobs = torch.where(finished[..., None], pad_only, token_logprobs)

    counts = torch.zeros(n, vocab, dtype=token_logprobs.dtype, device=token_logprobs.device)
    scores, parents, tokens = [], [], []
    for g in range(groups):
        penalty = diversity_penalty * counts[:, None, :] * (~finished[:, g, :, None])  # [N, B, V]
        candidates = beam_scores[:, g, :, None] + logprobs[:, g] - penalty
        best, flat = candidates.reshape(n, beams * vocab).topk(beams, dim=-1)
        parent, token = flat // vocab, flat % vocab
        scores.append(best)
        parents.append(parent)
        tokens.append(token)
        # Only live beams vote: a finished beam's pad must not push other groups off their own end.
        voting = (~finished[:, g].gather(1, parent)).to(counts.dtype)
        counts.scatter_add_(1, token, voting)
    result = StepResult(torch.stack(scores, 1), torch.stack(parents, 1), torch.stack(tokens, 1))
    if unbatched:
        result = StepResult(result.scores[0], result.parents[0], result.tokens[0])
    return result


@dataclass
class DiverseBeamOutput:
    """sequences [N, G*B, L+T] (prompt included, pad after EOS), scores [N, G*B] (length-normalised),
    lengths [N, G*B] (generated tokens up to and including EOS). Within a prompt the order is round-robin
    over groups by rank: the best beam of every group first, then every group's second best, ..."""

    sequences: torch.Tensor
    scores: torch.Tensor
    lengths: torch.Tensor


LogitsProcessor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def diverse_beam_search(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    num_beam_groups: int = 4,
    beams_per_group: int = 1,
    diversity_penalty: float = 1.0,
    max_new_tokens: int = 64,
    eos_token_id: int | list[int] | None = None,
    pad_token_id: int = 0,
    length_penalty: float = 1.0,
    logits_processor: LogitsProcessor | None = None,
) -> DiverseBeamOutput:
    """Decode N left-padded prompts [N, L] with G groups of B beams, reusing the KV cache.

    `logits_processor(input_ids, scores)` (e.g. a transformers LogitsProcessorList, such as the one
    `prefix_allowed_tokens_fn` builds) is applied to the log-softmax scores of live beams, as in
    transformers' beam search. Final ranking divides each score by length ** length_penalty.
    """
    if num_beam_groups < 1 or beams_per_group < 1:
        raise ValueError(f"need >= 1 group and beam, got {num_beam_groups} groups x {beams_per_group} beams")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    eos_ids = [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id or [])
    n, prompt_len = input_ids.shape
    groups, beams = num_beam_groups, beams_per_group
    width = groups * beams
    device = input_ids.device
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)

    # Every prompt row is repeated G*B times; row index = n*G*B + g*B + b.
    seqs = input_ids.repeat_interleave(width, dim=0)
    mask = attention_mask.repeat_interleave(width, dim=0)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=seqs, attention_mask=mask, position_ids=positions, use_cache=True)
    cache = out.cache if hasattr(out, "cache") else out.past_key_values
    next_logits = out.logits[:, -1].float()
    last_pos = positions[:, -1]

    # Within each group only beam 0 is live at the start, so the B beams do not all copy one token.
    beam_scores = torch.full((n, groups, beams), NEG, device=device)
    beam_scores[:, :, 0] = 0.0
    finished = torch.zeros(n, groups, beams, dtype=torch.bool, device=device)
    lengths = torch.zeros(n, groups, beams, dtype=torch.long, device=device)
    offsets = torch.arange(n * groups, device=device).view(n, groups, 1) * beams

    for _ in range(max_new_tokens):
        logprobs = torch.log_softmax(next_logits, dim=-1)
        if logits_processor is not None:
            logprobs = logits_processor(seqs, logprobs)
        step = diverse_beam_step(
            beam_scores, logprobs.view(n, groups, beams, -1), diversity_penalty, finished, pad_token_id
        )
        rows = (offsets + step.parents).reshape(-1)  # global parent row of each new beam
        parent_finished = finished.reshape(-1)[rows].view(n, groups, beams)
        tokens = step.tokens
        lengths = lengths.reshape(-1)[rows].view(n, groups, beams) + (~parent_finished).long()
        finished = parent_finished | (
            torch.isin(tokens, torch.tensor(eos_ids, device=device)) if eos_ids else False
        )
        beam_scores = step.scores
        seqs = torch.cat([seqs[rows], tokens.reshape(-1, 1)], dim=-1)
        mask = torch.cat([mask[rows], torch.ones_like(mask[:, :1])], dim=-1)
        last_pos = last_pos[rows] + 1
        if bool(finished.all()):
            break
        cache.reorder_cache(rows)
        out = model(
            input_ids=tokens.reshape(-1, 1),
            attention_mask=mask,
            position_ids=last_pos[:, None],
            cache=cache,
            use_cache=True,
        )
        cache = out.cache if hasattr(out, "cache") else out.past_key_values
        next_logits = out.logits[:, -1].float()

    normalised = beam_scores / lengths.clamp(min=1).float() ** length_penalty
    # Rank inside each group, then interleave: [rank0 of g0..gG-1, rank1 of g0..gG-1, ...].
    order = normalised.argsort(dim=-1, descending=True)  # [N, G, B]
    ranked_rows = (offsets + order).transpose(1, 2).reshape(n, width)  # [N, B*G] in round-robin order
    flat_rows = ranked_rows.reshape(-1)
    return DiverseBeamOutput(
        sequences=seqs[flat_rows].view(n, width, -1),
        scores=normalised.reshape(-1)[flat_rows].view(n, width),
        lengths=lengths.reshape(-1)[flat_rows].view(n, width),
    )


def diverse_beam_generate(
    model: torch.nn.Module,
    input_ids: torch.Tensor,
    logits_processor: LogitsProcessor | None = None,
    stopping_criteria: object | None = None,
    generation_config: object | None = None,
    synced_gpus: bool = False,
    streamer: object | None = None,
    num_beam_groups: int = 4,
    diversity_penalty: float = 1.0,
    **model_kwargs: object,
) -> torch.Tensor:
    """`model.generate(ids, num_beams=G*B, custom_generate=diverse_beam_generate, num_beam_groups=G,
    diversity_penalty=lam, max_new_tokens=T, num_return_sequences=R)`.

    transformers 5 calls a custom_generate callable with the prompt already repeated `num_beams` times,
    the prepared logits processors and generation config, and passes on the keyword arguments that
    `_sample` does not know (here num_beam_groups and diversity_penalty). Stopping is by EOS and the
    config's max_length; returns [N * num_return_sequences, L+T] like generate() does.
    """
    config = generation_config
    num_beams = int(config.num_beams)
    if num_beams % num_beam_groups:
        raise ValueError(f"num_beams={num_beams} is not divisible by num_beam_groups={num_beam_groups}")
    returned = int(config.num_return_sequences or 1)
    if returned > num_beams:
        raise ValueError(f"num_return_sequences={returned} exceeds num_beams={num_beams}")
    prompts = input_ids[::num_beams]
    mask = model_kwargs.get("attention_mask")
    mask = mask[::num_beams] if isinstance(mask, torch.Tensor) else None
    eos = config._eos_token_tensor if getattr(config, "_eos_token_tensor", None) is not None else None
    eos_ids = eos.reshape(-1).tolist() if eos is not None else config.eos_token_id
    pad = config._pad_token_tensor if getattr(config, "_pad_token_tensor", None) is not None else None
    pad_id = int(pad) if pad is not None else int(config.pad_token_id or (eos_ids[0] if eos_ids else 0))
    output = diverse_beam_search(
        model,
        prompts,
        mask,
        num_beam_groups=num_beam_groups,
        beams_per_group=num_beams // num_beam_groups,
        diversity_penalty=diversity_penalty,
        max_new_tokens=int(config.max_length) - prompts.shape[1],
        eos_token_id=eos_ids,
        pad_token_id=pad_id,
        length_penalty=float(config.length_penalty if config.length_penalty is not None else 1.0),
        logits_processor=logits_processor,
    )
    return output.sequences[:, :returned].reshape(prompts.shape[0] * returned, -1)
