"""Constrained decoding: only catalog answers, valid JSON, valid numbers, under greedy and beams."""

from __future__ import annotations

import json

import pytest

from diffagent.agent import format_answer, hallucination_rate, load_catalog
from diffagent.agent.constrained import AnswerConstraint, build_trie
from schemas.t2i import SAMPLERS
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


def test_every_answer_is_a_valid_catalog_api(agent):
    prompts = ["anime girl", "pixel art hero", *ADVERSARIAL]
    answers = agent.select(prompts)
    assert len(answers) == len(prompts)
    for (answer,) in answers:
        api = answer.api
        assert api.model in agent.catalog
        assert api.model_description == agent.catalog.by_model[api.model]["model_description"]
        assert api.width % 8 == 0 and api.sampling_method in SAMPLERS
        if api.type == "LORA":
            assert api.base_checkpoint in agent.catalog.base_checkpoints_for(api.model)
        json.loads(format_answer(api))
    assert hallucination_rate([a for (a,) in answers], agent.catalog) == 0.0


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
