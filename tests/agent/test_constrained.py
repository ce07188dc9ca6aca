"""Constrained decoding: only catalog answers, valid JSON, valid numbers, under greedy and beams."""

from __future__ import annotations

import json

import pytest
import torch

from diffagent.agent import ANSWER_KEYS, format_answer, hallucination_rate, load_catalog
from diffagent.agent.constrained import AnswerConstraint, build_trie
from tests.agent.conftest import ADVERSARIAL


def test_build_trie_hand_example():
    """Choices 15 -> [1, 5] and 150 -> [1, 5, 0]: node [1, 5] ends 15 and continues to 150."""
    trie = build_trie({15: [1, 5], 150: [1, 5, 0]})
    assert trie[1][5][None] == 15 and trie[1][5][0][None] == 150
    with pytest.raises(ValueError):
        build_trie({})


def test_constraint_walks_a_formatted_answer(tiny_llm, dabench):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llm)
    catalog = load_catalog(dabench)
    constraint = AnswerConstraint(tokenizer, catalog)
    constraint.prepare([0])
    row = {
        "model": "Pixel Art XL",
        "type": "LORA",
        "base_model": "SDXL 1.0",
        "base_checkpoint": "Juggernaut XL",
        "width": 1024,
        "height": 1024,
        "sampling_method": "Euler a",
        "sampling_steps": 150,
        "cfg_scale": 7.5,
    }
    from diffagent.agent.conversation import answer_segments

    ids = [t for s in answer_segments(row) for t in tokenizer.encode(s, add_special_tokens=False)]
    for i, token in enumerate(ids):
        assert token in constraint.allowed(0, tuple(ids[:i]))
    assert constraint.allowed(0, tuple(ids)) == [tokenizer.eos_token_id]
    assert constraint.values_of(0, [*ids, tokenizer.eos_token_id]) == tuple(row.values())
    # A Checkpoint of another architecture as the LoRA's base is not allowed.
    wrong = format_answer({**row, "base_checkpoint": "Realistic Vision"})
    wrong_ids = tokenizer.encode(wrong[: wrong.index("Realistic") + 4], add_special_tokens=False)
    assert constraint.values_of(0, wrong_ids) is None


def teacher_forced(backend, prompt: list[int], answer: list[int]) -> torch.Tensor:
    """Log-probabilities [len(answer), vocab] of each answer token's position, from one plain
    forward pass over prompt + answer (no constraint, no cache): an independent reference."""
    ids = torch.tensor([prompt + answer], device=backend.device)
    with torch.inference_mode():
        logits = backend.model(input_ids=ids).logits[0].float()
    return torch.log_softmax(logits[len(prompt) - 1 : -1], -1)


def test_answers_are_greedy_over_the_allowed_tokens_and_scored_right(agent):
    """The trie guarantees a catalog answer; what can go wrong is the decoding. Re-derive each
    answer's tokens from its fields (the segment-wise encoding training uses), then check against
    one plain forward pass: at every real choice the token taken is the argmax among the allowed
    ones, and the score is the mean log-probability of the `{"model": "<name>"` tokens."""
    from diffagent.agent.conversation import answer_segments
    from diffagent.agent.generate import encode_prompt

    backend = agent.backend
    prompts = ["anime girl", "pixel art hero", *ADVERSARIAL]
    answers = agent.select(prompts)
    assert len(answers) == len(prompts)
    constraint = AnswerConstraint(backend.tokenizer, agent.catalog)
    constraint.prepare([0])
    choices = 0
    for prompt, (answer,) in zip(prompts, answers, strict=True):
        api = answer.api
        assert api.model_description == agent.catalog.by_model[api.model]["model_description"]
        fields = {key: getattr(api, key) for key in ANSWER_KEYS}
        ids = [t for s in answer_segments(fields) for t in constraint.encode(s)] + [
            backend.tokenizer.eos_token_id
        ]
        assert answer.tokens_generated == len(ids)
        logprobs = teacher_forced(backend, encode_prompt(backend.tokenizer, prompt), ids)
        for i, token in enumerate(ids):
            allowed = constraint.allowed(0, tuple(ids[:i]))
            assert token in allowed
            if len(allowed) > 1:
                choices += 1
                best = max(allowed, key=lambda t: logprobs[i, t].item())
                assert logprobs[i, token].item() == pytest.approx(logprobs[i, best].item(), abs=1e-5)
        n_model = len(constraint.keys[0]) + len(constraint.model_ids(api.model))
        expected = logprobs[torch.arange(n_model), torch.tensor(ids[:n_model])].mean().item()
        assert answer.score == pytest.approx(expected, abs=1e-4)
        json.loads(format_answer(api))
    assert choices >= 4 * len(prompts)  # model, width, height, sampler, ... were real choices


def test_top_k_gives_distinct_ranked_models(agent):
    (ranked,) = agent.select(["watercolor flowers"], top_k=3)
    models = [a.api.model for a in ranked]
    assert len(models) == 3 == len(set(models))
    scores = [a.score for a in ranked]
    assert scores == sorted(scores, reverse=True)


def test_unconstrained_path_is_measured(agent):
    """The random-weight model writes no JSON: every unconstrained answer counts as hallucinated."""
    answers = [a for (a,) in agent.select(["anime girl", "pixel art"], constrained=False)]
    assert all(a.text is not None for a in answers)
    assert hallucination_rate(answers, agent.catalog) == 1.0
    assert hallucination_rate(['{"model": "Juggernaut XL"}', None], agent.catalog) == 0.5
