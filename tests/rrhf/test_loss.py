"""RRHF loss (paper Eqs. 7-10) against a hand-worked example."""

from __future__ import annotations

import pytest
import torch

from diffagent.rrhf.loss import gather_token_logprobs, length_normalised_scores, rank_loss, rrhf_loss

# Three responses, right-padded to 3 tokens (padding log-probs are junk and must be ignored).
TOKEN_LOGPROBS = torch.tensor([[-1.0, -2.0, -3.0], [-0.5, -1.5, -9.0], [-4.0, -9.0, -9.0]])
MASK = torch.tensor([[True, True, True], [True, True, False], [True, False, False]])
REWARDS = torch.tensor([0.9, 0.5, 0.1])


def test_rrhf_loss_hand_worked() -> None:
    """Eq. 7: p1 = (-1-2-3)/3 = -2, p2 = (-0.5-1.5)/2 = -1, p3 = -4/1 = -4.
    Eq. 8 with s = (0.9, 0.5, 0.1): pairs (i worse than j) are (2,1), (3,1), (3,2):
      max(0, p2 - p1) = max(0, -1 + 2) = 1; max(0, p3 - p1) = max(0, -2) = 0; max(0, p3 - p2) = 0.
      L_rank = 1.
    Eq. 9: best is r1, L_ce = -(-1-2-3) = 6 (summed), or 2 (length-normalised).
    Eq. 10: L = 1 + 6 = 7 (or 3).
    """
    result = rrhf_loss(TOKEN_LOGPROBS, MASK, REWARDS)
    assert result.scores.tolist() == pytest.approx([-2.0, -1.0, -4.0])
    assert float(result.rank) == pytest.approx(1.0)
    assert float(result.ce) == pytest.approx(6.0)
    assert float(result.loss) == pytest.approx(7.0)
    normalised = rrhf_loss(TOKEN_LOGPROBS, MASK, REWARDS, ce_length_normalised=True)
    assert float(normalised.loss) == pytest.approx(3.0)
    weighted = rrhf_loss(TOKEN_LOGPROBS, MASK, REWARDS, rank_weight=2.0, ce_weight=0.5)
    assert float(weighted.loss) == pytest.approx(2.0 * 1.0 + 0.5 * 6.0)


def test_tied_rewards_make_no_pair() -> None:
    """p = (-2, -1), s = (0.5, 0.5): no pair has s_i < s_j, so L_rank = 0 (r2 ranking higher is fine)."""
    assert float(rank_loss(torch.tensor([-2.0, -1.0]), torch.tensor([0.5, 0.5]))) == 0.0
    assert float(rank_loss(torch.tensor([-2.0, -1.0]), torch.tensor([0.6, 0.5]))) == pytest.approx(1.0)


def test_gather_shifts_and_masks() -> None:
    """Vocabulary 2, uniform logits: every scored token has log p = log 0.5; labels [-100, 1, 0, -100]
    score positions 1 and 2 only, so p = log 0.5."""
    logits = torch.zeros(1, 4, 2)
    labels = torch.tensor([[-100, 1, 0, -100]])
    logprobs, mask = gather_token_logprobs(logits, labels)
    assert mask.tolist() == [[True, True, False]]
    assert float(length_normalised_scores(logprobs, mask)[0]) == pytest.approx(
        float(torch.log(torch.tensor(0.5)))
    )


def test_bad_inputs_name_the_values() -> None:
    with pytest.raises(ValueError, match="3 responses but 2 rewards"):
        rrhf_loss(TOKEN_LOGPROBS, MASK, REWARDS[:2])
    with pytest.raises(ValueError, match="at least one scored token"):
        length_normalised_scores(TOKEN_LOGPROBS, torch.zeros_like(MASK))


def test_ce_trains_on_the_best_response_it_may_target() -> None:
    """Targets (no, yes, yes): r1 (s 0.9) is ranked but not imitated; the best target is r2 (s 0.5),
    L_ce = -(-0.5-1.5) = 2; L_rank is the hand-worked 1 as before. No target at all: L_ce = 0."""
    result = rrhf_loss(TOKEN_LOGPROBS, MASK, REWARDS, ce_targets=torch.tensor([False, True, True]))
    assert (float(result.rank), float(result.ce), float(result.loss)) == pytest.approx((1.0, 2.0, 3.0))
    none = rrhf_loss(TOKEN_LOGPROBS, MASK, REWARDS, ce_targets=torch.zeros(3, dtype=torch.bool))
    assert (float(none.ce), float(none.loss)) == pytest.approx((0.0, 1.0))
