"""RRHF loss (Yuan et al. 2023, as used by DiffAgent, paper Eqs. 7-10). Pure tensor functions.

Notation: one prompt t with n responses r_1..r_n, rewards s_1..s_n.
- Eq. 7: p_i = sum_t log P(r_i,t | t, r_i,<t) / |r_i|      (length-normalised log-probability)
- Eq. 8: L_rank = sum over pairs with s_i < s_j of max(0, p_i - p_j)
- Eq. 9: L_ce = - sum_t log P(r_i',t | t, r_i',<t), i' = argmax_i s_i
- Eq. 10: L = L_rank + L_ce  (weights are parameters; 1 and 1 is the paper)

The paper's Eq. 9 sums over tokens; the public RRHF code averages them. `ce_length_normalised` picks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def gather_token_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probabilities of the labels, shifted for causal LMs.

    logits [R, L, V] and labels [R, L] (-100 where not scored: prompt and padding) ->
    (token_logprobs [R, L-1], mask [R, L-1] bool); entries outside the mask are 0.
    """
    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    mask = labels != -100
    safe = labels.clamp(min=0)
    logprobs = torch.log_softmax(logits, dim=-1).gather(-1, safe[..., None]).squeeze(-1)
    return logprobs * mask, mask


def length_normalised_scores(token_logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 7: [R, T] token log-probs and mask -> p [R], the mean log-probability of each response."""
    lengths = mask.sum(-1)
    if bool((lengths == 0).any()):
        raise ValueError(f"every response needs at least one scored token, got lengths {lengths.tolist()}")
    return (token_logprobs * mask).sum(-1) / lengths


def rank_loss(scores: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """Eq. 8: sum over ordered pairs (i, j) with s_i < s_j of max(0, p_i - p_j). scores, rewards [n]."""
    if scores.shape != rewards.shape or scores.dim() != 1:
        raise ValueError(f"scores {tuple(scores.shape)} and rewards {tuple(rewards.shape)} must be equal 1-D")
    worse = rewards[:, None] < rewards[None, :]  # [i, j]: s_i < s_j
    margins = (scores[:, None] - scores[None, :]).clamp(min=0)
    return (margins * worse).sum()


def best_response_ce(
    token_logprobs: torch.Tensor,
    mask: torch.Tensor,
    rewards: torch.Tensor,
    length_normalised: bool = False,
    targets: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. 9: negative log-likelihood of the best-rewarded response (first one on a tie) among the
    `targets` (bool [n], default all: `reconstruct.ce_targets` says which may be); 0 when none may."""
    if targets is not None:
        if not bool(targets.any()):
            return token_logprobs.new_zeros(())
        rewards = rewards.masked_fill(~targets, float("-inf"))
    best = int(rewards.argmax())
    total = -(token_logprobs[best] * mask[best]).sum()
    return total / mask[best].sum() if length_normalised else total


@dataclass
class RRHFLoss:
    loss: torch.Tensor
    rank: torch.Tensor
    ce: torch.Tensor
    scores: torch.Tensor  # p_i of each response


def rrhf_loss(
    token_logprobs: torch.Tensor,
    mask: torch.Tensor,
    rewards: torch.Tensor,
    rank_weight: float = 1.0,
    ce_weight: float = 1.0,
    ce_length_normalised: bool = False,
    ce_targets: torch.Tensor | None = None,
) -> RRHFLoss:
    """Eq. 10 for one prompt: token_logprobs and mask [n, T], rewards [n] -> L = w_r L_rank + w_c L_ce.
    `ce_targets` (bool [n]): the responses Eq. 9 may train on (all when None); every one is ranked."""
    if token_logprobs.shape[0] != rewards.shape[0]:
        raise ValueError(f"{token_logprobs.shape[0]} responses but {rewards.shape[0]} rewards")
    scores = length_normalised_scores(token_logprobs, mask)
    rank = rank_loss(scores, rewards.to(scores.dtype))
    ce = best_response_ce(token_logprobs, mask, rewards, ce_length_normalised, ce_targets)
    return RRHFLoss(rank_weight * rank + ce_weight * ce, rank, ce, scores)
