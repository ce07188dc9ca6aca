"""Prompt sets: seeded sampling, the formats' columns, paths and fsspec URLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diffagent.evaluate.prompts import coco_prompts, dabench_prompts, example_prompts, parti_prompts

PARTI_TSV = (
    "Prompt\tCategory\tChallenge\tNote\n"
    "bond\tAbstract\tBasic\tBiology-inspired\n"
    "a red cube on a blue sphere\tArtifacts\tPositioning\t\n"
    "a cat\tAnimals\tBasic\t\n"
    "\tEmpty\tBasic\t\n"
)


def test_parti_keeps_category_and_challenge_and_drops_empty_prompts(tmp_path: Path) -> None:
    path = tmp_path / "parti.tsv"
    path.write_text(PARTI_TSV)
    prompts = parti_prompts(path, n=None)
    assert [p.source_prompt for p in prompts] == ["bond", "a red cube on a blue sphere", "a cat"]
    assert (prompts[1].category, prompts[1].challenge) == ("Artifacts", "Positioning")
    assert all(p.dataset == "parti" and p.prompt == p.source_prompt and not p.expanded for p in prompts)


def test_parti_sample_is_seeded_and_distinct(tmp_path: Path) -> None:
    path = tmp_path / "parti.tsv"
    path.write_text(PARTI_TSV)
    first, again = parti_prompts(path, n=2, seed=3), parti_prompts(f"file://{path}", n=2, seed=3)
    assert [p.prompt_id for p in first] == [p.prompt_id for p in again]
    assert len({p.prompt_id for p in first}) == 2


def test_parti_missing_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("Text\tCategory\nx\ty\n")
    with pytest.raises(ValueError, match="Prompt"):
        parti_prompts(path, n=1)


def test_coco_one_caption_per_sampled_image(tmp_path: Path) -> None:
    annotations = [
        {"image_id": image, "id": image * 10 + k, "caption": f" image {image}  caption {k} "}
        for image in range(5)
        for k in range(3)
    ]
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"annotations": annotations}))
    prompts = coco_prompts(path, n=4, seed=1)
    images = [p.prompt_id.split("-")[1] for p in prompts]
    assert len(set(images)) == 4
    assert all(p.source_prompt.startswith("image ") and "  " not in p.source_prompt for p in prompts)
    assert [p.prompt_id for p in coco_prompts(path, n=4, seed=1)] == [p.prompt_id for p in prompts]


def test_coco_rejects_other_json(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="annotations"):
        coco_prompts(path, n=3)


def test_dabench_eval_split_per_architecture(dabench_dir: Path) -> None:
    prompts = dabench_prompts(dabench_dir, n=None)
    assert {p.base_model for p in prompts} == {"SD 1.5", "SDXL 1.0"}
    assert len(prompts) == 5 and all(p.negative_prompt == "blurry" for p in prompts)
    sampled = dabench_prompts(dabench_dir, n=1, seed=0)
    assert sorted(p.base_model for p in sampled) == ["SD 1.5", "SDXL 1.0"]


def test_examples_come_from_the_training_split(dabench_dir: Path) -> None:
    examples = example_prompts(dabench_dir, k=3, seed=0)
    assert len(examples) == 3 and all(e.startswith("masterpiece, a castle") for e in examples)


def test_real_files_sample_twelve(coco_path: Path, parti_path: Path) -> None:
    coco, parti = coco_prompts(coco_path, n=12, seed=0), parti_prompts(parti_path, n=12, seed=0)
    assert len(coco) == len({p.prompt_id for p in coco}) == 12
    assert len(parti) == 12 and all(p.category and p.challenge for p in parti)
    assert len(parti_prompts(parti_path, n=None)) == 1632


def test_parti_over_http(file_server) -> None:
    root, url = file_server
    (root / "parti.tsv").write_text(PARTI_TSV)
    prompts = parti_prompts(f"{url}/parti.tsv", n=None)
    assert [p.source_prompt for p in prompts][-1] == "a cat"
