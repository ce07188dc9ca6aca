"""Fixtures for the RRHF tests: a tiny random-weight Llama built from a config (no download)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    # The machine is shared: keep each test on one thread.
    torch.set_num_threads(1)


def make_tiny_llama(vocab_size: int = 48, seed: int = 0) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture
def tiny_llama() -> torch.nn.Module:
    return make_tiny_llama()


def make_tiny_tokenizer():  # -> PreTrainedTokenizerFast
    """A byte-level BPE trained in-process on a few JSON-ish lines (a few hundred tokens)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [
        '{"model": "dreamshaper_8", "width": 512, "height": 768, "sampling_method": "Euler a"}',
        "User: a cat in pixel art style, cinematic lighting\nAgent:",
    ] * 10
    tokenizer.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )


@pytest.fixture
def tiny_tokenizer():
    return make_tiny_tokenizer()


def catalog_entry(model: str, model_id: int, kind: str, base: str, downloads: int = 100):
    from tests import catalog_entries

    return catalog_entries.catalog_entry(
        model,
        model_id=model_id,
        version_id=model_id * 10,
        type=kind,
        base_model=base,
        model_description=f"{model}: a {base} {kind}.",
        tags=["style"],
        model_name=model,
        version_name="v1",
        download_count=downloads,
        thumbs_up_count=10,
        rating=4.8,
        rating_count=10,
        file_name=f"{model}.safetensors",
        download_url=f"https://example.invalid/{model_id}",
        sample_count=2,
    )


def small_catalog() -> list:
    return [
        catalog_entry("dreamshaper_8", 1, "Checkpoint", "SD 1.5", downloads=900),
        catalog_entry("realistic_vision", 2, "Checkpoint", "SD 1.5", downloads=500),
        catalog_entry("pixel_art_lora", 3, "LORA", "SD 1.5"),
        catalog_entry("juggernaut_xl", 4, "Checkpoint", "SDXL 1.0"),
    ]


def write_dabench(folder):  # -> Path
    """A DABench folder with the small catalog: catalog.parquet, instructions.parquet, splits/*."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA, InstructionRow

    folder = Path(folder)
    (folder / "splits").mkdir(parents=True, exist_ok=True)
    entries = small_catalog()
    pq.write_table(
        pa.Table.from_pylist([e.model_dump() for e in entries], schema=CATALOG_SCHEMA),
        folder / "catalog.parquet",
    )
    themes = [
        "a cat in pixel art style",
        "portrait photo, cinematic lighting",
        "castle at night, dramatic sky",
        "watercolor flowers",
        "cyberpunk city, neon rain",
        "anime girl, pastel colors",
    ]
    rows = []
    for i, theme in enumerate(themes * 2):
        entry = entries[i % len(entries)]
        lora = entry.type == "LORA"
        rows.append(
            InstructionRow(
                image_id=i,
                prompt=f"{theme}, masterpiece",
                negative_prompt="blurry",
                model=entry.model,
                type=entry.type,
                base_model=entry.base_model,
                base_checkpoint="dreamshaper_8" if lora else None,
                width=512 if entry.base_model == "SD 1.5" else 1024,
                height=768 if entry.base_model == "SD 1.5" else 1024,
                sampling_method="Euler a" if i % 2 else "DPM++ 2M Karras",
                sampling_steps=20 + i,
                cfg_scale=7.0,
                model_id=entry.model_id,
                version_id=entry.version_id,
                base_checkpoint_version_id=10 if lora else None,
                seed=i,
            ).model_dump()
        )
    table = pa.Table.from_pylist(rows, schema=INSTRUCTION_SCHEMA)
    pq.write_table(table, folder / "instructions.parquet")
    pq.write_table(table.slice(0, 8), folder / "splits" / "sft.parquet")
    pq.write_table(table.slice(8, 3), folder / "splits" / "rrhf.parquet")
    pq.write_table(table.slice(11, 1), folder / "splits" / "eval.parquet")
    return folder


def quick_sfta_settings(k: int = 2, **candidates) -> dict:
    """The tiny profile with fewer steps and prompts (`sftA-train` parameters), so tests stay quick."""
    # The tiny profile's values are under these (a config deep-merges the profile beneath them).
    return {
        "sft": {"max_steps": 8},
        "rrhf": {"max_steps": 4},
        "candidates": {**candidates, "max_prompts": 2},
        "rollout": {"k": k},
    }


# The flow's cached stages (its records also hold the rollout plan, which is not a stage).
STAGES = ("retriever", "sft", "candidates", "rollouts", "rrhf")


def cached(results: dict) -> dict[str, bool]:
    """Which stages of a sftA-train result were Cached."""
    return {stage: results[stage]["cached"] for stage in STAGES}


def train_sfta(data, run, **settings) -> dict:
    """The sftA-train flow in this process (this test session's Prefect server); its records."""
    from diffagent.runflow import run_flow

    return run_flow("sftA-train", data=str(data), out=str(run), profile="tiny", **settings)


def train_sfta_cli(data, run, *options: str) -> dict:
    """`diffagent train sfta --profile tiny OPTIONS` in a subprocess, as a user runs it, against
    this test session's Prefect server; returns the stage records it prints."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from prefect.settings import PREFECT_API_URL

    command = [str(Path(sys.executable).parent / "diffagent"), "train", "sfta", "--data", str(data)]
    command += ["--out", str(run), "--profile", "tiny", *options]
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    # A subprocess: Prefect's log handlers outlive an in-process CLI runner's streams.
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    return printed_records(result.stdout)


def printed_records(stdout: str) -> dict:
    """The stage records `diffagent train sfta` prints: the last JSON object of its output (the
    trainers, when they run in that process, print their logs before it)."""
    import json
    import re

    start = [m.start() for m in re.finditer(r"^\{$", stdout, re.MULTILINE)][-1]
    return json.loads(stdout[start:])
