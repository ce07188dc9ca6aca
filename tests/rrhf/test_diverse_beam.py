"""Diverse beam search: the step maths by hand, then the decoding loop on a tiny Llama."""

from __future__ import annotations

import pytest
import torch

from diffagent.agent.diverse_beam import NEG, diverse_beam_generate, diverse_beam_search, diverse_beam_step

A, B, C = 0, 1, 2


def test_step_penalises_tokens_of_earlier_groups() -> None:
    """G=2 groups of B=1, vocabulary {a, b, c}, both beams at score 0 with log p = (-0.5, -1.0, -2.0).

    lambda=1: group 0 takes a (-0.5). Group 1: a has one vote -> -0.5 - 1 = -1.5; b = -1.0; c = -2.0,
    so group 1 takes b with -1.0.
    lambda=0.4: a -> -0.9 beats b (-1.0), so both groups take a, group 1 with -0.9.
    """
    scores = torch.zeros(2, 1)
    logprobs = torch.tensor([-0.5, -1.0, -2.0]).expand(2, 1, 3).clone()
    step = diverse_beam_step(scores, logprobs, diversity_penalty=1.0)
    assert step.tokens.tolist() == [[A], [B]]
    assert step.scores.flatten().tolist() == pytest.approx([-0.5, -1.0])
    step = diverse_beam_step(scores, logprobs, diversity_penalty=0.4)
    assert step.tokens.tolist() == [[A], [A]]
    assert step.scores.flatten().tolist() == pytest.approx([-0.5, -0.9])


def test_step_two_beams_per_group_first_step() -> None:
    """G=2, B=2, first step (only beam 0 of each group is live: scores [0, NEG]), log p = (-0.5, -1.0, -1.7).

    Group 0: a (-0.5), b (-1.0). Group 1: a and b have one vote each -> a -1.5, b -2.0, c -1.7,
    so group 1 keeps a (-1.5) and c (-1.7). Every parent is beam 0.
    """
    scores = torch.tensor([[0.0, NEG], [0.0, NEG]])
    logprobs = torch.tensor([-0.5, -1.0, -1.7]).expand(2, 2, 3).clone()
    step = diverse_beam_step(scores, logprobs, diversity_penalty=1.0)
    assert step.tokens.tolist() == [[A, B], [A, C]]
    assert step.scores.flatten().tolist() == pytest.approx([-0.5, -1.0, -1.5, -1.7])
    assert step.parents.tolist() == [[0, 0], [0, 0]]


def test_step_finished_beams_pad_for_free_and_do_not_vote() -> None:
    """G=2, B=1, pad = c. Group 0 is finished at score -3: it takes c (pad) and stays at -3.
    Its pad does not vote, so live group 1 (score -1, log p = (-2.0, -1.5, -0.1)) takes c at -1.1,
    unpenalised."""
    scores = torch.tensor([[-3.0], [-1.0]])
    logprobs = torch.tensor([[[-0.1, -0.2, -5.0]], [[-2.0, -1.5, -0.1]]])
    finished = torch.tensor([[True], [False]])
    step = diverse_beam_step(scores, logprobs, 1.0, finished=finished, pad_token_id=C)
    assert step.tokens.tolist() == [[C], [C]]
    assert step.scores.flatten().tolist() == pytest.approx([-3.0, -1.1])


def test_step_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="does not match"):
        diverse_beam_step(torch.zeros(2, 1), torch.zeros(3, 1, 5))
    with pytest.raises(ValueError, match="diversity_penalty"):
        diverse_beam_step(torch.zeros(2, 1), torch.zeros(2, 1, 5), diversity_penalty=-1.0)


def test_one_group_one_beam_is_greedy_decoding(tiny_llama: torch.nn.Module) -> None:
    prompt = torch.tensor([[1, 5, 9, 12, 7]])
    out = diverse_beam_search(tiny_llama, prompt, num_beam_groups=1, max_new_tokens=6, eos_token_id=2)
    greedy = tiny_llama.generate(prompt, do_sample=False, max_new_tokens=6, eos_token_id=2, pad_token_id=0)
    assert out.sequences[0, 0, : greedy.shape[1]].tolist() == greedy[0].tolist()


def test_groups_start_differently_under_a_large_penalty(tiny_llama: torch.nn.Module) -> None:
    prompt = torch.tensor([[1, 5, 9, 12, 7]])
    out = diverse_beam_search(
        tiny_llama, prompt, num_beam_groups=4, diversity_penalty=100.0, max_new_tokens=4, eos_token_id=2
    )
    first_tokens = out.sequences[0, :, prompt.shape[1]].tolist()
    assert len(set(first_tokens)) == 4
    plain = diverse_beam_search(
        tiny_llama, prompt, num_beam_groups=4, diversity_penalty=0.0, max_new_tokens=4, eos_token_id=2
    )
    # Without the penalty every group is the same beam search.
    assert len({tuple(s) for s in plain.sequences[0].tolist()}) == 1


def test_left_padded_batch_matches_single_prompts(tiny_llama: torch.nn.Module) -> None:
    long, short = [1, 5, 9, 12, 7], [1, 8, 3]
    batch = torch.tensor([long, [0, 0, *short]])
    mask = torch.tensor([[1] * 5, [0, 0, 1, 1, 1]])
    kwargs = dict(
        num_beam_groups=2, beams_per_group=2, diversity_penalty=1.0, max_new_tokens=5, eos_token_id=2
    )
    both = diverse_beam_search(tiny_llama, batch, mask, **kwargs)
    alone = diverse_beam_search(tiny_llama, torch.tensor([short]), **kwargs)
    assert both.sequences[1, :, 2:].tolist() == alone.sequences[0].tolist()
    assert both.scores[1].tolist() == pytest.approx(alone.scores[0].tolist(), abs=1e-4)


def test_plugs_into_generate_custom_generate(tiny_llama: torch.nn.Module) -> None:
    prompt = torch.tensor([[1, 5, 9, 12, 7]])
    direct = diverse_beam_search(
        tiny_llama,
        prompt,
        num_beam_groups=2,
        beams_per_group=2,
        diversity_penalty=1.0,
        max_new_tokens=5,
        eos_token_id=2,
    )
    generated = tiny_llama.generate(
        prompt,
        custom_generate=diverse_beam_generate,
        num_beams=4,
        num_beam_groups=2,
        diversity_penalty=1.0,
        num_return_sequences=4,
        max_new_tokens=5,
        eos_token_id=2,
        pad_token_id=0,
    )
    assert generated.tolist() == direct.sequences[0].tolist()
