"""SFT within a CPU budget: a wall-time stop that saves, checkpoints and --resume, cut prompts."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from diffagent.agent.generate import encode_prompt
from diffagent.agent.sft import SFTParams, fit_prompt, sft_rows, train_sft
from diffagent.cli import app


def manifest_of(folder) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@pytest.fixture(scope="module")
def tokenizer(tiny_llm):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_llm)


def test_a_long_prompt_loses_its_negative_then_its_tail(tokenizer):
    row = {"prompt": "a castle at dawn, " * 100, "negative_prompt": "lowres, " * 40}
    full = len(encode_prompt(tokenizer, row))
    ids, cut = fit_prompt(tokenizer, row, 200)
    assert len(ids) <= 200 and cut == full - len(ids) and cut > 0
    text = tokenizer.decode(ids)
    # The conversation stays whole around a prompt that keeps its head.
    assert text.startswith("<|bos|><|system|>\nYou are DiffAgent.")
    assert "<|user|>\nPrompt: a castle at dawn, a castle" in text
    assert text.endswith("\nNegative prompt: <|end|>\n<|assistant|>\n")
    assert "lowres" not in text


def test_a_short_prompt_is_not_cut_and_a_tiny_limit_is_refused(tokenizer):
    row = {"prompt": "a red fox", "negative_prompt": "blurry"}
    assert fit_prompt(tokenizer, row, 1000) == (encode_prompt(tokenizer, row), 0)
    with pytest.raises(ValueError, match="max_prompt_tokens 50 "):
        fit_prompt(tokenizer, row, 50)


def test_budget_stops_saves_and_resume_goes_on(tiny_llm, dabench, tokenizer, tmp_path):
    limit = 205  # the tiny tokenizer's dabench prompts take 199 to 220 tokens
    longer = sum(len(encode_prompt(tokenizer, r)) > limit for r in sft_rows(dabench))
    out = tmp_path / "agent"
    # A budget of 60 microseconds: the first step (which always runs) is the last.
    params = SFTParams(max_steps=3, batch_size=4, max_minutes=1e-6, max_prompt_tokens=limit)
    train_sft(dabench, str(tiny_llm), out, params=params)
    first = manifest_of(out)
    assert (first["steps"], first["stopped_at_budget"], first["resumed_from"]) == (1, True, None)
    assert (out / "checkpoints" / "checkpoint-1").is_dir() and (out / "adapter").is_dir()
    assert first["prompts_cut"] == longer and first["prompt_tokens_cut"] >= longer
    assert first["base_weights"]["sha256"] is not None

    result = CliRunner().invoke(
        app,
        ["train", "sft", "--data", str(dabench), "--base-model", str(tiny_llm), "--out", str(out)]
        + ["--max-steps", "3", "--batch-size", "4", "--max-prompt-tokens", str(limit), "--resume"],
    )
    assert result.exit_code == 0, result.output
    second = manifest_of(out)
    assert (second["steps"], second["stopped_at_budget"]) == (3, False)
    assert second["resumed_from"] == "checkpoint-1"
    # Stopped and resumed is the same training as one uninterrupted run: weights, optimizer,
    # data order and random state all come back from the checkpoint.
    whole = train_sft(dabench, str(tiny_llm), tmp_path / "whole", params=replace(params, max_minutes=None))
    assert second["losses"] == manifest_of(whole)["losses"] and second["losses"][0] == first["losses"][0]
    resumed = load_file(out / "adapter" / "adapter_model.safetensors")
    uninterrupted = load_file(whole / "adapter" / "adapter_model.safetensors")
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)


def test_resume_without_a_checkpoint_is_refused(tiny_llm, dabench, tmp_path):
    with pytest.raises(ValueError, match="no checkpoint under"):
        train_sft(dabench, str(tiny_llm), tmp_path / "fresh", params=SFTParams(max_steps=1), resume=True)
    result = CliRunner().invoke(
        app,
        ["train", "sft", "--data", str(dabench), "--base-model", str(tiny_llm), "--out", str(tmp_path / "x")]
        + ["--max-minutes", "0"],
    )
    assert result.exit_code == 2 and "--max-minutes must be more than 0, got 0.0" in result.output


def test_the_budget_rule_hand_examples():
    """50 s for 5 steps (10 s each): in a 55 s budget the next would end at 60 s, past it; in 60 s
    it ends just at the budget, so it runs. A budget of 0 minutes or less is named."""
    from diffagent.agent.budget import budget_seconds, past_budget

    assert past_budget(50.0, 5, 55.0) and not past_budget(50.0, 5, 60.0)
    assert budget_seconds(0.5) == 30.0
    with pytest.raises(ValueError, match="got 0"):
        budget_seconds(0)
