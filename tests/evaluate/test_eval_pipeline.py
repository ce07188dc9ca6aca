"""Answers -> render plans -> images -> scores, with the real retrieval agent, a tiny diffusers
pipeline and the tiny scorers (real code paths, random weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from diffagent.answers import default_api
from diffagent.catalog import Catalog
from diffagent.evaluate.agents import agent_selector, architecture_agent
from diffagent.evaluate.pipeline import plan_systems, render_and_score
from diffagent.evaluate.run import collect_answers, prepare_prompts
from diffagent.evaluate.systems import PAPER_SYSTEMS
from schemas.evaluation import ScoreRow
from tests.evaluate.eval_fixtures import CATALOG

torch.set_num_threads(1)
INDEX = Catalog.from_entries(CATALOG)


def unconstrained_text(instructions):
    """What an unconstrained LLM might say: a made-up model for 'cabin', a real SD 1.5 LoRA otherwise."""
    answers = []
    for item in instructions:
        model = "cozyCabin_v2" if "cabin" in item.prompt else "pixelArt_lora"
        fields = {
            "model": model,
            "base_checkpoint": "dreamshaper_8",
            "sampling_method": "DDIM",
            "sampling_steps": 4,
            "cfg_scale": 6.0,
        }
        answers.append((fields, "Here you go: " + json.dumps(fields)))
    return answers


@pytest.fixture(scope="module")
def tiny_dir() -> Path:
    from diffagent.tiny import ensure_tiny_models

    return ensure_tiny_models()


def test_answers_per_architecture_with_the_retrieval_agent(dabench_dir: Path, tmp_path: Path) -> None:
    from diffagent.agent.selector import load_agent

    prompts, expansion = prepare_prompts(dabench_dir, None, None, None, 0, None, tmp_path)
    assert expansion.mode == "none" and len(prompts) == 5
    retrieval = load_agent(None, dabench_dir)
    selectors = {}
    for architecture in ("SD 1.5", "SDXL 1.0"):
        selectors[(architecture, "retrieval", True)] = agent_selector(
            architecture_agent(retrieval, architecture), "retrieval", True
        )
        selectors[(architecture, "sft", False)] = unconstrained_text
    rows, answers = collect_answers(prompts, ("SD 1.5", "SDXL 1.0"), selectors, INDEX)
    table = pd.DataFrame([r.model_dump() for r in rows])
    retrieved = table[table["selector"] == "retrieval"]
    assert not retrieved["hallucinated"].any(), "retrieval only names catalog models of the architecture"
    by_arch = dict(zip(retrieved["prompt_id"] + retrieved["architecture"], retrieved["model"], strict=True))
    assert by_arch["dabench-4SDXL 1.0"] in ("juggernautXL_v9", "animeXL_lora")
    sft = table[table["selector"] == "sft"].set_index(["architecture", "prompt_id"])
    assert sft.loc[("SD 1.5", "dabench-1"), "reason"] == "unknown_model"
    assert sft.loc[("SD 1.5", "dabench-2"), "reason"] == ""
    assert sft.loc[("SDXL 1.0", "dabench-4"), "reason"] == "wrong_architecture"
    assert len(answers) == len(rows) == 2 * 5
    # The shared unconstrained selector was asked once per prompt, with one cold start for both.
    assert table[table["selector"] == "sft"]["cold_start_s"].nunique() == 1


def test_render_and_score_dedups_images_and_normalises_per_prompt(dabench_dir, tmp_path, tiny_dir) -> None:
    """The real renderer (tiny profile: each system's own checkpoint and LoRA from the tiny store)
    and the tiny scorers."""
    from diffagent.evaluate.models import load_render_fn
    from diffagent.profiles import load_scorers

    render_api, _ = load_render_fn("tiny", dabench_dir, tmp_path / "render-cache", INDEX)
    calls = []

    def render(api, prompt, negative_prompt, seeds):
        calls.append((api.model, tuple(seeds)))  # what render_and_score asked for
        return render_api(api, prompt, negative_prompt, seeds)

    scorers = load_scorers("tiny")
    prompts, _ = prepare_prompts(dabench_dir, None, None, None, 0, None, tmp_path)
    prompts = [p for p in prompts if p.base_model == "SD 1.5"][:2]  # "cozy cabin" and "pixel art knight"
    selectors = {("SD 1.5", "rrhf", False): unconstrained_text, ("SD 1.5", "sft", False): unconstrained_text}
    _, answers = collect_answers(prompts, ("SD 1.5",), selectors, INDEX)
    baseline = default_api("SD 1.5", INDEX)
    planned = plan_systems("SD 1.5", prompts, answers, PAPER_SYSTEMS, INDEX, baseline, (256, 256))
    rows = render_and_score(planned, [0, 1, 2], render, scorers.score_all, tmp_path / "images")
    frame = pd.DataFrame([r.model_dump() for r in rows])
    assert len(frame) == 2 * 5 * 3 and set(frame.columns) == set(ScoreRow.model_fields)
    cabin = frame[frame["prompt_id"] == "dabench-1"].set_index(["system", "seed"])
    # The cabin answer hallucinates: SFT and RRHF render the baseline's images, and are flagged.
    assert cabin.loc[("diffagent_rrhf", 0), "fallback"] and not cabin.loc[("baseline", 0), "fallback"]
    assert cabin.loc[("diffagent_rrhf", 0), "image_path"] == cabin.loc[("baseline", 0), "image_path"]
    # Distinct renders: cabin baseline + baseline* (DDIM, 4 steps); knight: those two + LoRA x 2 params.
    assert len(calls) == 2 + 4
    assert frame["unified"].between(0, 1).all() and frame["clip_score"].notna().all()
    for _, group in frame.groupby("prompt_id"):  # normalised within the prompt: its images differ
        assert group["unified"].nunique() > 1
    again = render_and_score(planned, [0, 1, 2], render, scorers.score_all, tmp_path / "images")
    assert len(calls) == 6, "a rerun renders nothing"
    assert [r.unified for r in again] == pytest.approx([r.unified for r in rows])
