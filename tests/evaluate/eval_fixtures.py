"""Shared test data for tests/evaluate: a small catalog and DABench rows (imported by the tests)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dabench import CatalogEntry, InstructionRow
from tests.catalog_entries import catalog_entry

SHARED = Path("/work/shared/data")
COCO = SHARED / "coco_captions_val2017.json"
PARTI = SHARED / "PartiPrompts.tsv"


def entry(model: str, version_id: int, type_: str = "Checkpoint", base: str = "SD 1.5") -> CatalogEntry:
    return catalog_entry(
        model,
        model_id=version_id * 10,
        version_id=version_id,
        type=type_,
        base_model=base,
        model_description=f"{model} makes pictures",
        tags=["style"],
        model_name=model,
        version_name="v1",
        download_count=1000,
        thumbs_up_count=10,
        rating_count=10,
        file_name=f"{model}.safetensors",
        download_url=f"https://example.invalid/{version_id}",
        sample_count=2,
    )


CATALOG = [
    entry("dreamshaper_8", 1),
    entry("revAnimated_v122", 2),
    entry("pixelArt_lora", 3, "LORA"),
    entry("juggernautXL_v9", 4, base="SDXL 1.0"),
    entry("animeXL_lora", 5, "LORA", base="SDXL 1.0"),
]


def row(image_id: int, prompt: str, model: str, base: str = "SD 1.5", base_checkpoint: str | None = None):
    by_name = {e.model: e for e in CATALOG}
    return InstructionRow(
        image_id=image_id,
        prompt=prompt,
        negative_prompt="blurry",
        model=model,
        type=by_name[model].type,
        base_model=base,
        base_checkpoint=base_checkpoint,
        width=512,
        height=512,
        sampling_method="DPM++ 2M Karras",
        sampling_steps=25,
        cfg_scale=6.5,
        model_id=by_name[model].model_id,
        version_id=by_name[model].version_id,
        base_checkpoint_version_id=by_name[base_checkpoint].version_id if base_checkpoint else None,
        seed=7,
    )


def write_rows(path: Path, rows, schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([r.model_dump() for r in rows], schema=schema), path)


def score_row(architecture, dataset, prompt_id, system, seed, unified, fallback=False, image_path=""):
    """A scores.parquet row whose three metrics all equal `unified` (enough for the tables)."""
    return {
        "architecture": architecture,
        "dataset": dataset,
        "prompt_id": prompt_id,
        "prompt": f"prompt {prompt_id}",
        "system": system,
        "seed": seed,
        "model": "m",
        "version_id": 0,
        "sampling_method": "Euler a",
        "sampling_steps": 20,
        "cfg_scale": 7.0,
        "width": 512,
        "height": 512,
        "fallback": fallback,
        "clip_score": unified,
        "image_reward": unified,
        "hps_v2": unified,
        "unified": unified,
        "latency_s": 0.0,
        "image_path": image_path,
    }


def answer_row(
    architecture, dataset, prompt_id, selector, constrained, hallucinated, latency_s=0.1, **fields
):
    """An answers.parquet row; `fields` override any column (model, raw, ranked, cold_start_s)."""
    return {
        "architecture": architecture,
        "dataset": dataset,
        "prompt_id": prompt_id,
        "selector": selector,
        "constrained": constrained,
        "model": "made_up" if hallucinated else "dreamshaper_8",
        "hallucinated": hallucinated,
        "reason": "unknown_model" if hallucinated else "",
        "params_fixed": False,
        "latency_s": latency_s,
        "raw": "{}",
        "cold_start_s": 1.0,
        "ranked": None,
        **fields,
    }


def synthetic_run(seed: int = 0):
    """(answers, scores) frames for every architecture x data set x system, with random numbers."""
    import numpy as np
    import pandas as pd

    from diffagent.evaluate.systems import SYSTEMS

    rng = np.random.default_rng(seed)
    answers, scores = [], []
    for architecture in ("SD 1.5", "SDXL 1.0"):
        for dataset in ("dabench", "coco", "parti"):
            for p in range(4):
                prompt_id = f"{dataset}-{p}"
                for selector, constrained in [
                    ("sft", False),
                    ("rrhf", False),
                    ("sft", True),
                    ("rrhf", True),
                    ("retrieval", True),
                    ("retrieval_base", True),
                    ("hybrid", True),
                ]:
                    hallucinated = (not constrained) and rng.random() < 0.3
                    answers.append(
                        answer_row(architecture, dataset, prompt_id, selector, constrained, hallucinated)
                    )
                for system in SYSTEMS:
                    for s in range(3):
                        scores.append(
                            score_row(architecture, dataset, prompt_id, system, s, float(rng.random()))
                        )
    return pd.DataFrame(answers), pd.DataFrame(scores)
