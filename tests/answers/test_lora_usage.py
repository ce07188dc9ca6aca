"""A LoRA answer's strength and trigger words: given, then usual, then the defaults (by hand)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from pydantic import ValidationError

from diffagent.answers.lora_usage import lora_usage, usual_lora_use, with_trigger_words
from diffagent.retriever.params import nearest_lora_use
from schemas.t2i import T2IApi

LORA = SimpleNamespace(type="LORA", trained_words=["pxart, 8bit", "isometric"])
MANY = SimpleNamespace(type="LORA", trained_words=["alice", "bob", "carol", "dave"])
CHECKPOINT = SimpleNamespace(type="Checkpoint", trained_words=[])


def test_given_values_win_when_valid() -> None:
    given = {"lora_weight": 0.7, "trigger_words": ["8BIT", "made-up"]}
    assert lora_usage(LORA, None, given) == {"lora_weight": 0.7, "trigger_words": ["8bit"]}


def test_then_the_usual_use_then_the_defaults() -> None:
    usual = SimpleNamespace(lora_weight=0.6, trigger_words=("isometric",))
    assert lora_usage(LORA, usual, {"lora_weight": 9.0}) == {
        "lora_weight": 0.6,
        "trigger_words": ["isometric"],
    }
    # Nothing known: 1.0, and every trained word of a LoRA that has few (3 here), else the first.
    assert lora_usage(LORA, None) == {"lora_weight": 1.0, "trigger_words": ["pxart", "8bit", "isometric"]}
    assert lora_usage(MANY, None)["trigger_words"] == ["alice"]
    assert lora_usage(CHECKPOINT, usual, {"lora_weight": 0.5}) == {"lora_weight": None, "trigger_words": []}


def test_usual_use_is_the_median_weight_and_the_words_used_most() -> None:
    rows = [
        {"lora_weight": 0.6, "trigger_words": ["b"]},
        {"lora_weight": None, "trigger_words": ["a", "b"]},
        {"lora_weight": 1.0, "trigger_words": []},
        {"lora_weight": 0.8, "trigger_words": ["a", "b"]},
    ]
    assert usual_lora_use(rows) == {"lora_weight": 0.8, "trigger_words": ("b", "a")}
    assert usual_lora_use([{"trigger_words": []}]) == {"lora_weight": None, "trigger_words": ()}


def test_nearest_samples_vote_by_similarity() -> None:
    """Weights 0.8, 0.8, 1.0 at similarity .5, .4, .7: 0.8 has 0.9, 1.0 has 0.7 -> 0.8; the words
    a (.5 + .4 = .9) before b (.4)."""
    settings = [
        {"lora_weight": 0.8, "trigger_words": ["a"]},
        {"lora_weight": 0.8, "trigger_words": ["a", "b"]},
        {"lora_weight": 1.0, "trigger_words": []},
    ]
    assert nearest_lora_use(settings, np.array([0.5, 0.4, 0.7])) == {
        "lora_weight": 0.8,
        "trigger_words": ["a", "b"],
    }
    assert nearest_lora_use([{"lora_weight": None}], np.array([1.0])) == {
        "lora_weight": None,
        "trigger_words": [],
    }


def test_trigger_words_join_the_prompt_once() -> None:
    assert with_trigger_words("a fox, PXART", ["pxart", "8bit"]) == "a fox, PXART, 8bit"
    assert with_trigger_words("a fox", []) == "a fox"


def test_the_api_refuses_lora_use_on_a_checkpoint_and_absurd_weights() -> None:
    base = {"type": "Checkpoint", "base_model": "SD 1.5", "model_id": 1, "version_id": 2, "width": 512,
            "height": 512, "sampling_method": "Euler a", "sampling_steps": 20, "cfg_scale": 7.0}  # fmt: skip
    with pytest.raises(ValidationError, match="takes no lora_weight"):
        T2IApi(model="m", lora_weight=0.5, **base)
    lora = {**base, "type": "LORA", "base_checkpoint": "c"}
    with pytest.raises(ValidationError, match="lora_weight 9.0"):
        T2IApi(model="m", lora_weight=9.0, **lora)
    assert T2IApi(model="m", lora_weight=-0.5, trigger_words=["x"], **lora).trigger_words == ["x"]
