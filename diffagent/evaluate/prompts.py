"""The three evaluation prompt sets: DABench's eval split, COCO Captions and PartiPrompts.

COCO and PartiPrompts are read from a path or any fsspec URL (http(s), s3, ...), sampled with a
seed so that a rerun evaluates the same prompts. COCO samples distinct images and takes one of each
image's captions (five captions of one photo are near-duplicates and would weight it five times).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd

from diffagent.storage import ArtifactStore
from schemas.evaluation import EvalPrompt

PARTI_COLUMNS: tuple[str, ...] = ("Prompt", "Category", "Challenge", "Note")
TRUTH_COLUMNS: tuple[str, ...] = ("width", "height", "sampling_method", "sampling_steps", "cfg_scale")


def read_bytes(path_or_url: str | Path) -> bytes:
    """The whole file at a local path or fsspec URL."""
    with fsspec.open(str(path_or_url), "rb") as handle:
        return handle.read()


def _sample_indices(available: int, n: int | None, seed: int) -> list[int]:
    """`n` distinct indices out of `available`, seeded and sorted; all of them when n is None or larger."""
    if n is not None and n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n is None or n >= available:
        return list(range(available))
    chosen = np.random.default_rng(seed).choice(available, size=n, replace=False)
    return sorted(int(i) for i in chosen)


def coco_prompts(source: str | Path, n: int | None, seed: int = 0) -> list[EvalPrompt]:
    """N COCO captions, one per sampled image, from a captions JSON (`annotations[].caption`)."""
    data = json.loads(read_bytes(source))
    annotations = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(annotations, list) or not annotations:
        raise ValueError(f"{source}: no 'annotations' list in a COCO captions file")
    by_image: dict[int, list[dict]] = {}
    for annotation in annotations:
        if "image_id" not in annotation or "caption" not in annotation:
            raise ValueError(f"{source}: annotation without image_id/caption: {annotation!r}")
        by_image.setdefault(int(annotation["image_id"]), []).append(annotation)
    image_ids = sorted(by_image)
    rng = np.random.default_rng(seed)
    prompts = []
    for index in _sample_indices(len(image_ids), n, seed):
        captions = sorted(by_image[image_ids[index]], key=lambda a: int(a.get("id", 0)))
        caption = captions[int(rng.integers(len(captions)))]
        text = " ".join(str(caption["caption"]).split())
        prompts.append(
            EvalPrompt(
                dataset="coco",
                prompt_id=f"coco-{image_ids[index]}-{caption.get('id', 0)}",
                source_prompt=text,
                prompt=text,
            )
        )
    return prompts


def parti_prompts(source: str | Path, n: int | None, seed: int = 0) -> list[EvalPrompt]:
    """N PartiPrompts rows (TSV: Prompt, Category, Challenge, Note), keeping Category and Challenge."""
    text = read_bytes(source).decode("utf-8")
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    missing = [c for c in PARTI_COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{source}: PartiPrompts TSV lacks columns {missing}; has {reader.fieldnames}")
    rows = [row for row in reader if (row.get("Prompt") or "").strip()]
    return [
        EvalPrompt(
            dataset="parti",
            prompt_id=f"parti-{index}",
            source_prompt=rows[index]["Prompt"].strip(),
            prompt=rows[index]["Prompt"].strip(),
            category=rows[index]["Category"] or None,
            challenge=rows[index]["Challenge"] or None,
        )
        for index in _sample_indices(len(rows), n, seed)
    ]


def _split_frame(data_dir: str | Path, split: str) -> tuple[pd.DataFrame, str]:
    store = ArtifactStore(str(data_dir))
    name = f"splits/{split}.parquet"
    if not store.exists(name):
        raise ValueError(f"no DABench {split} split at {store.url(name)}")
    return store.read_table(name).to_pandas(), store.url(name)


def _sft_models(data_dir: str | Path) -> set[str] | None:
    """Models with sft samples (the selection metrics' seen/unseen split); None without an sft split."""
    store = ArtifactStore(str(data_dir))
    if not store.exists("splits/sft.parquet"):
        return None
    return set(store.read_table("splits/sft.parquet").column("model").to_pylist())


def dabench_prompts(data_dir: str | Path, n: int | None, seed: int = 0) -> list[EvalPrompt]:
    """DABench eval split rows (DIR/splits/eval.parquet, DIR a folder or fsspec URL); N sampled per
    architecture when given. Each carries its image's model and settings (the selection truth)."""
    frame, path = _split_frame(data_dir, "eval")
    needed = {"image_id", "prompt", "negative_prompt", "base_model", "model", "type", *TRUTH_COLUMNS}
    if missing := needed - set(frame.columns):
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    seen = _sft_models(data_dir)
    prompts = []
    for base_model, group in frame.groupby("base_model", sort=True):
        group = group.sort_values("image_id").reset_index(drop=True)
        for index in _sample_indices(len(group), n, seed):
            row = group.iloc[index]
            prompts.append(
                EvalPrompt(
                    dataset="dabench",
                    prompt_id=f"dabench-{int(row['image_id'])}",
                    source_prompt=str(row["prompt"]),
                    prompt=str(row["prompt"]),
                    negative_prompt=str(row["negative_prompt"] or ""),
                    base_model=str(base_model),
                    reference_model=str(row["model"]),
                    reference_type=str(row["type"]),
                    reference_in_sft=None if seen is None else str(row["model"]) in seen,
                    reference_width=int(row["width"]),
                    reference_height=int(row["height"]),
                    reference_sampler=str(row["sampling_method"]),
                    reference_steps=int(row["sampling_steps"]),
                    reference_cfg=float(row["cfg_scale"]),
                )
            )
    return prompts


def example_prompts(data_dir: str | Path, k: int, seed: int = 0, split: str = "sft") -> list[str]:
    """K DABench prompts to show the expanding LLM, from a training split (never the eval split)."""
    frame, _ = _split_frame(data_dir, split)
    prompts = sorted(set(frame["prompt"].astype(str)))
    prompts = [p for p in prompts if p.strip()]
    return [prompts[i] for i in _sample_indices(len(prompts), k, seed)]
