"""Fast-forward decoding: forced runs skip the model, and answers equal step-by-step decoding."""

from __future__ import annotations

import pytest
import torch

from diffagent.agent.fastforward import fast_forward_greedy, forced_run
from diffagent.agent.generate import encode_prompt
from tests.agent.conftest import ADVERSARIAL

PROMPTS = ["anime girl", "pixel art hero, 8-bit", *ADVERSARIAL]


def test_forced_run_covers_catalog_facts(agent):
    """Pixel Art XL is an SDXL 1.0 LoRA and Juggernaut XL the catalog's only SDXL Checkpoint, so a
    one-model shortlist forces everything up to the width: the model name, its type and base model
    (catalog facts), the base checkpoint (a single choice) and every key in between."""
    backend = agent.backend
    constraint = backend.constraint
    constraint.prepare([0], [["Pixel Art XL"]])
    run = forced_run(constraint, 0, [])
    text = backend.tokenizer.decode(run)
    expected = (
        '{"model": "Pixel Art XL", "type": "LORA", "base_model": "SDXL 1.0", '
        '"base_checkpoint": "Juggernaut XL", "width": '
    )
    assert text.startswith(expected)
    assert len(constraint.allowed(0, tuple(run))) > 1  # the width is a real choice
    # Over the whole catalog the model name is a choice: the run stops inside `{"model": "`.
    constraint.prepare([0])
    opening = backend.tokenizer.decode(forced_run(constraint, 0, []))
    assert '{"model": '.startswith(opening) or opening.startswith('{"model": ')
    assert "Pixel" not in opening


def step_by_step(backend, prompts, shortlists=None) -> list[list[int]]:
    """Reference: transformers' `generate` with `prefix_allowed_tokens_fn`, one token per pass."""
    width = max(len(p) for p in prompts)
    backend.constraint.prepare([width] * len(prompts), shortlists)
    limit = backend.constraint.max_answer_tokens()
    out = backend._generate(prompts, backend.constraint, do_sample=False, max_new_tokens=limit)
    eos = backend.tokenizer.eos_token_id
    rows = []
    for row in out.sequences[:, width:].tolist():
        rows.append(row[: row.index(eos) + 1])
    return rows


@pytest.mark.parametrize("hybrid", [False, True])
def test_fast_forward_equals_step_by_step_token_for_token(agent, hybrid):
    backend = agent.backend
    prompts = [encode_prompt(backend.tokenizer, p) for p in PROMPTS]
    shortlists = None
    if hybrid:  # per-row shortlists of different sizes: rows fast-forward by different amounts
        models = list(agent.catalog.selectable)
        shortlists = [models[: 1 + i % len(models)] for i in range(len(prompts))]
    expected = step_by_step(backend, prompts, shortlists)
    backend.constraint.prepare([0] * len(prompts), shortlists)
    limit = backend.constraint.max_answer_tokens()
    with torch.inference_mode():
        got = fast_forward_greedy(backend.model, backend.constraint, prompts, backend.pad, limit)
    assert [g.tokens for g in got] == expected
    for g in got:
        # One prefill plus one pass per decision, less the last: its chunk ends with EOS.
        assert g.forward_passes == g.decisions
        assert 0 < g.decisions < len(g.tokens) / 3
        assert len(g.logprobs) < len(g.tokens) and all(lp <= 0 for lp in g.logprobs)


def test_backend_answers_and_scores_match_without_fast_forward(agent):
    backend = agent.backend
    prompts = [encode_prompt(backend.tokenizer, p) for p in PROMPTS[:4]]
    try:
        backend.fast_forward = False
        slow = backend.constrained(prompts) + backend.constrained(prompts[:2], top_k=3)
    finally:
        backend.fast_forward = True
    fast = backend.constrained(prompts) + backend.constrained(prompts[:2], top_k=3)
    for slow_row, fast_row in zip(slow, fast, strict=True):
        assert [a.fields for a in fast_row] == [a.fields for a in slow_row]
        assert [a.tokens for a in fast_row] == [a.tokens for a in slow_row]
        assert [a.score for a in fast_row] == pytest.approx([a.score for a in slow_row], abs=1e-4)
        assert all(a.decisions < a.tokens and a.forward_passes < a.tokens for a in fast_row)
        assert all(a.decisions == a.tokens == a.forward_passes for a in slow_row)


def test_selection_reports_decisions(agent):
    (answer,) = agent.select(["watercolor flowers"])[0]
    assert 0 < answer.forward_passes <= answer.model_decisions < answer.tokens_generated
