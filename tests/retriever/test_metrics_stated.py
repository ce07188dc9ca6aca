"""Selection metrics of the evaluation: ranked hits and agreement of an answer's stated fields."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from diffagent.retriever.metrics import parameter_agreement, ranked_hits, stated_agreement

TRUTH = {
    "model": "c",
    "sampling_method": "Euler a",
    "sampling_steps": 20,
    "cfg_scale": 7.5,
    "width": 512,
    "height": 512,
}


def test_ranked_hits_hand_example():
    """[a, b, c] with truth c: not first; not in the first 2; in the first 3. An empty ranking misses."""
    assert ranked_hits(["a", "b", "c"], "c", k=2) == {"top1": False, "top2": False}
    assert ranked_hits(["a", "b", "c"], "c", k=3) == {"top1": False, "top3": True}
    assert ranked_hits(["c"], "c") == {"top1": True, "top5": True}
    assert ranked_hits([], "c") == {"top1": False, "top5": False}
    with pytest.raises(ValueError, match="got 0"):
        ranked_hits(["c"], "c", k=0)


def test_stated_agreement_judges_what_is_readable():
    """steps "many" is unreadable and the height is missing: both disagree; cfg 7 is 0.5 from 7.5."""
    fields = {"sampling_method": "Euler a", "sampling_steps": "many", "cfg_scale": 7, "width": 512}
    assert stated_agreement(fields, TRUTH) == {"sampler": True, "steps": False, "cfg": True, "size": False}
    assert stated_agreement(None, TRUTH) == dict.fromkeys(("sampler", "steps", "cfg", "size"), False)
    # A bool is no step count even though Python counts it as an int.
    assert not stated_agreement({**TRUTH, "sampling_steps": True}, TRUTH)["steps"]


def test_stated_agreement_equals_parameter_agreement_on_a_full_answer():
    """DDIM vs Euler a; 26 steps is 6 from 20; CFG 8.5 is 1.0 from 7.5 (within); 512x512 the same."""
    fields = {**TRUTH, "model": "a", "sampling_method": "DDIM", "sampling_steps": 26, "cfg_scale": 8.5}
    expected = {"sampler": False, "steps": False, "cfg": True, "size": True}
    assert parameter_agreement(SimpleNamespace(**fields), TRUTH) == expected
    assert stated_agreement(fields, TRUTH) == expected
