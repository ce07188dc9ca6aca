"""Reward rollout: the reward maths by hand, then real tiny pipeline + tiny scorers with resume."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from diffagent.rrhf.reconstruct import catalog_by_model, reconstruct_candidates
from diffagent.rrhf.rollout import (
    PromptResponses,
    collect_parts,
    load_scorers_from_folders,
    plan_batches,
    prompt_seeds,
    rewards_from_image_scores,
    rrhf_examples,
    run_jobs_in_process,
)
from tests.rrhf.conftest import small_catalog


def test_rewards_hand_worked() -> None:
    """Two responses, k = 2 (images 0, 1 belong to response 0; 2, 3 to response 1).
    clip (0.1, 0.3, 0.5, 0.3) -> min-max (0, 0.5, 1, 0.5); image_reward (1, 0, 2, 1) -> (0.5, 0, 1, 0.5);
    hps (5, 5, 5, 5) is degenerate -> 0.5 each. Unified per image: (1/3, 1/3, 2.5/3, 0.5).
    s_0 = 1/3; s_1 = (2.5/3 + 0.5) / 2 = 2/3."""
    raw = {"clip_score": [0.1, 0.3, 0.5, 0.3], "image_reward": [1, 0, 2, 1], "hps_v2": [5, 5, 5, 5]}
    unified, rewards = rewards_from_image_scores(raw, [0, 0, 1, 1])
    assert unified == pytest.approx([1 / 3, 1 / 3, 2.5 / 3, 0.5])
    assert rewards == pytest.approx({0: 1 / 3, 1: 2 / 3})


def test_seeds_depend_on_the_prompt_only() -> None:
    assert prompt_seeds("p1", 3) == prompt_seeds("p1", 3)
    assert prompt_seeds("p1", 3) != prompt_seeds("p2", 3)
    first = prompt_seeds("p1", 3)
    assert first == list(range(first[0], first[0] + 3))


class TinyPipelineRenderer:
    """Renders with a real (tiny) diffusers SD 1.5 pipeline at 64x64, counting renders."""

    def __init__(self, folder: Path) -> None:
        from diffusers import StableDiffusionPipeline

        self.pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None)
        self.pipe.set_progress_bar_config(disable=True)
        self.calls = 0

    def render(self, api, prompt, negative_prompt, seeds):
        self.calls += 1
        generators = [torch.Generator().manual_seed(s) for s in seeds]
        return self.pipe(
            [prompt] * len(seeds),
            negative_prompt=[negative_prompt] * len(seeds),
            num_inference_steps=2,
            guidance_scale=api.cfg_scale,
            width=64,
            height=64,
            generator=generators,
        ).images


@pytest.fixture(scope="module")
def tiny_models() -> Path:
    from diffagent.tiny import ensure_tiny_models

    return ensure_tiny_models()


def _items() -> list[PromptResponses]:
    catalog = catalog_by_model(small_catalog())
    items = []
    for i, prompt in enumerate(["a cat in pixel art", "a castle at night", "portrait photo"]):
        apis, _ = reconstruct_candidates(['{"model": "dreamshaper_8", "cfg_scale": 5}'], catalog, "SD 1.5")
        items.append(PromptResponses(f"p{i}", prompt, "blurry", [api.model for api in apis], apis))
    return items


def test_rollout_writes_parts_and_resumes_without_rerendering(tmp_path, tiny_models) -> None:
    renderer = TinyPipelineRenderer(tiny_models / "sd15")
    scorers = load_scorers_from_folders(
        {
            "clip_score": tiny_models / "clip",
            "image_reward": tiny_models / "image_reward",
            "hps_v2": tiny_models / "hps",
        },
        device="cpu",
    )
    parts = tmp_path / "rollouts"
    items, k = _items(), 2
    jobs, done = plan_batches(items, parts, batch_size=2, k=k)
    assert (len(jobs), len(done)) == (2, 0)
    # "Killed" after the first batch: only its part exists.
    run_jobs_in_process(jobs[:1], lambda: (renderer, scorers), k, progress=False)
    assert renderer.calls == 4  # 2 prompts x 2 responses
    jobs, done = plan_batches(items, parts, batch_size=2, k=k)
    assert (len(jobs), len(done)) == (1, 1)
    written = run_jobs_in_process(jobs, lambda: (renderer, scorers), k, progress=False)
    assert renderer.calls == 6  # only the last prompt was rendered again
    table = collect_parts(done + written, tmp_path / "rollouts.parquet")
    assert table.num_rows == 6
    rows = pq.read_table(tmp_path / "rollouts.parquet").to_pylist()
    assert all(len(r["image_scores"]) == k and len(r["seeds"]) == k for r in rows)
    assert all(0.0 <= r["reward"] <= 1.0 for r in rows)
    assert rows[0]["seeds"] == rows[1]["seeds"] != rows[2]["seeds"]
    examples = rrhf_examples(table)
    assert [len(e["responses"]) for e in examples] == [2, 2, 2]
    # A change to a batch (here k) makes its old part not count as done.
    jobs, done = plan_batches(items, parts, batch_size=2, k=3)
    assert (len(jobs), len(done)) == (2, 0)
