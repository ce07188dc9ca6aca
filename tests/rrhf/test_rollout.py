"""Reward rollout: the reward maths by hand, then the real renderer (tiny profile) + tiny scorers,
built from the JSON spec the flow hands to workers, with resume."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from diffagent.catalog import Catalog
from diffagent.rrhf.dispatch import dispatch_rollouts
from diffagent.rrhf.reconstruct import reconstruct_candidates
from diffagent.rrhf.rollout import (
    PromptResponses,
    collect_parts,
    plan_batches,
    prompt_seeds,
    rewards_from_image_scores,
    rrhf_examples,
    run_jobs_in_process,
)
from diffagent.rrhf.rollout_models import RolloutModelsSpec, build_rollout_models, rollout_spec
from tests.rrhf.conftest import small_catalog, write_dabench


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


@pytest.fixture(scope="module")
def tiny_models() -> Path:
    from diffagent.tiny import ensure_tiny_models

    return ensure_tiny_models()


def _spec(tmp_path: Path) -> RolloutModelsSpec:
    """The tiny profile's rollout spec, through its JSON form (what a remote worker receives),
    with its render cache here."""
    data = write_dabench(tmp_path / "data")
    spec = RolloutModelsSpec.for_profile("tiny", str(data), str(tmp_path / "render-cache"))
    return RolloutModelsSpec(**json.loads(json.dumps(spec.to_json())))


def _items() -> list[PromptResponses]:
    catalog = Catalog.from_entries(small_catalog())
    items = []
    for i, prompt in enumerate(["a cat in pixel art", "a castle at night", "portrait photo"]):
        apis, _ = reconstruct_candidates(['{"model": "dreamshaper_8", "cfg_scale": 5}'], catalog, "SD 1.5")
        items.append(PromptResponses(f"p{i}", prompt, "blurry", [api.model for api in apis], apis))
    return items


def test_rollout_writes_parts_and_resumes_without_rerendering(tmp_path, tiny_models) -> None:
    """The real renderer (tiny store: each response its own checkpoint) and the tiny scorers, built
    from the JSON spec. A rollout killed after its first batch resumes with the second only."""
    spec = _spec(tmp_path)
    assert spec.render["render_size"] == 64 and spec.render["render_max_steps"] == 2
    renderer, scorers = build_rollout_models(spec)
    assert sorted(scorers) == ["clip_score", "hps_v2", "image_reward"]
    parts = tmp_path / "rollouts"
    items, k = _items(), 2
    jobs, done = plan_batches(items, parts, batch_size=2, k=k)
    assert (len(jobs), len(done)) == (2, 0)
    # "Killed" after the first batch: only its part exists.
    run_jobs_in_process(jobs[:1], lambda: (renderer, scorers), k, progress=False)
    assert renderer.stats.rendered == 2 * 2 * k  # 2 prompts x 2 responses x k seeds
    jobs, done = plan_batches(items, parts, batch_size=2, k=k)
    assert (len(jobs), len(done)) == (1, 1)
    written = run_jobs_in_process(jobs, lambda: (renderer, scorers), k, progress=False)
    assert renderer.stats.rendered == 3 * 2 * k  # only the last prompt was rendered
    table = collect_parts(done + written, tmp_path / "rollouts.parquet")
    assert table.num_rows == 6
    rows = pq.read_table(tmp_path / "rollouts.parquet").to_pylist()
    assert all(len(r["image_scores"]) == k and len(r["seeds"]) == k for r in rows)
    for prompt_id in ("p0", "p1", "p2"):  # rewards follow from the stored raw scores (Eq. 5)
        group = [r for r in rows if r["prompt_id"] == prompt_id]
        raw: dict[str, list[float]] = {}
        for row in group:
            for metric, values in json.loads(row["raw_scores_json"]).items():
                raw.setdefault(metric, []).extend(values)
        unified, rewards = rewards_from_image_scores(
            raw, [r["response_index"] for r in group for _ in range(k)]
        )
        assert [s for r in group for s in r["image_scores"]] == pytest.approx(unified)
        assert [r["reward"] for r in group] == pytest.approx([rewards[r["response_index"]] for r in group])
    assert rows[0]["seeds"] == rows[1]["seeds"] != rows[2]["seeds"]
    # Two different models on the same seeds: different images, so different rewards.
    assert rows[0]["reward"] != rows[1]["reward"]
    examples = rrhf_examples(table)
    assert [len(e["responses"]) for e in examples] == [2, 2, 2]
    # A change to a batch (here k) makes its old part not count as done.
    jobs, done = plan_batches(items, parts, batch_size=2, k=3)
    assert (len(jobs), len(done)) == (2, 0)


def test_a_batch_killed_before_its_part_rerenders_nothing(tmp_path, tiny_models) -> None:
    """A worker that dies after rendering but before writing its part: a fresh worker (new renderer,
    same spec) redoes the batch from the render cache under the run folder."""
    spec, k = _spec(tmp_path), 2
    jobs, _ = plan_batches(_items()[:1], tmp_path / "rollouts", batch_size=1, k=k)
    first = build_rollout_models(spec)
    [part] = run_jobs_in_process(jobs, lambda: first, k, progress=False)
    rewards = pq.read_table(part).column("reward").to_pylist()
    Path(part).unlink()  # as if killed before the part was written
    second = build_rollout_models(spec)
    [again] = run_jobs_in_process(jobs, lambda: second, k, progress=False)
    assert (second[0].stats.rendered, second[0].stats.cached) == (0, first[0].stats.rendered)
    assert second[0].model_loads == 0
    assert pq.read_table(again).column("reward").to_pylist() == pytest.approx(rewards)


def test_spec_overrides_and_bad_profile(tmp_path) -> None:
    overrides = {"device": "cuda", "render": {"lora_scale": 0.8}}
    cache = str(tmp_path / "render-cache")
    spec = rollout_spec("default", "/data/dabench", cache, overrides)
    assert spec.catalog == "/data/dabench" and spec.device == "cuda" and spec.artifact_root == cache
    assert spec.render_settings().lora_scale == 0.8
    tiny = rollout_spec("tiny", "/data/dabench", cache, {"render": {"lora_scale": 0.5}})
    assert tiny.render["render_size"] == 64 and tiny.render["lora_scale"] == 0.5
    with pytest.raises(ValueError, match=r"unknown rollout_models keys \['pipelines'\]"):
        rollout_spec("tiny", "/data/dabench", cache, {"pipelines": {}})
    with pytest.raises(ValueError, match="'huge'"):
        RolloutModelsSpec.for_profile("huge", "/data", cache)


def test_process_pool_dispatch_matches_in_process(tmp_path, tiny_models) -> None:
    """`workers=2` (Prefect's process task runner): worker processes build the models from the
    spec and write the same parts (same rewards) as the in-process path."""
    from tasks.sfta import rollout_jobs_task

    spec, k = _spec(tmp_path), 1
    here, _ = plan_batches(_items(), tmp_path / "here", batch_size=1, k=k)
    pooled, _ = plan_batches(_items(), tmp_path / "pool", batch_size=1, k=k)
    dispatch_rollouts(here, spec, k, 0, workers=0)
    dispatch_rollouts(pooled, spec, k, 0, workers=2, jobs_per_run=1, run_task=rollout_jobs_task)
    for a, b in zip(here, pooled, strict=True):
        rewards = pq.read_table(a.out).column("reward").to_pylist()
        assert pq.read_table(b.out).column("reward").to_pylist() == pytest.approx(rewards)
