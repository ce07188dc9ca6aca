"""`diffagent select --format`: what a shell pipes. One answer prints the export itself; --top-k or
--batch print JSON lines whose `export` is the object (or text), never JSON inside a string."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from diffagent.cli import app
from tests.agent.conftest import dabench, embeddings_cache  # noqa: F401 - fixtures

runner = CliRunner()
KNIGHT = "pixel art knight, 8-bit"
# The test catalog's answer for KNIGHT: the LoRA "Pixel Art XL" (3.safetensors, sha256 AB...) on
# checkpoint 2.safetensors, DPM++ 2M Karras, 28 steps, CFG 7, 1024x1024.
KNIGHT_BODY = {
    "prompt": "pixel art knight, 8-bit <lora:3:1>",
    "negative_prompt": "",
    "sampler_name": "DPM++ 2M",
    "scheduler": "Karras",
    "steps": 28,
    "cfg_scale": 7.0,
    "width": 1024,
    "height": 1024,
    "seed": 7,
    "override_settings": {"sd_model_checkpoint": "2.safetensors", "CLIP_stop_at_last_layers": 1},
}


def _select(data: Path, *args: str):
    base = ["select", "--catalog", str(data), "--selector", "retrieval", "--seed", "7"]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_one_answer_prints_the_export_itself(dabench, embeddings_cache):  # noqa: F811
    assert json.loads(_select(dabench, KNIGHT, "--format", "a1111-api")) == KNIGHT_BODY
    workflow = json.loads(_select(dabench, KNIGHT, "--format", "comfyui"))
    assert workflow["1"] == {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "2.safetensors"}}
    infotext = _select(dabench, KNIGHT, "--format", "a1111")
    assert infotext.startswith("pixel art knight, 8-bit <lora:3:1>\nSteps: 28, Sampler: DPM++ 2M Karras")
    assert infotext.endswith('Model hash: ababababab, Model: 2, Lora hashes: "3: ababababab"\n')
    script = _select(dabench, KNIGHT, "--format", "diffusers")
    assert script.startswith("# Pixel Art XL (LORA, SDXL 1.0)") and script.endswith(
        "image.save('diffagent.png')\n"
    )


def test_top_k_and_batch_print_json_lines_with_the_export_as_an_object(dabench, embeddings_cache, tmp_path):  # noqa: F811
    lines = [
        json.loads(line)
        for line in _select(dabench, KNIGHT, "--format", "a1111-api", "--top-k", "2").splitlines()
    ]
    assert [(line["prompt"], line["rank"]) for line in lines] == [(KNIGHT, 1), (KNIGHT, 2)]
    assert lines[0]["export"] == KNIGHT_BODY
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"prompt": KNIGHT}) + "\n", encoding="utf-8")
    lines = [
        json.loads(line)
        for line in _select(dabench, "--batch", str(batch), "--format", "comfyui").splitlines()
    ]
    assert len(lines) == 1 and lines[0]["rank"] == 1
    assert lines[0]["export"]["1"]["class_type"] == "CheckpointLoaderSimple"
    lines = [
        json.loads(line) for line in _select(dabench, "--batch", str(batch), "--format", "a1111").splitlines()
    ]
    assert lines[0]["export"].startswith("pixel art knight, 8-bit <lora:3:1>\nSteps: 28")


def test_one_prompt_in_a_shell_keeps_stderr_free_of_progress_bars(dabench, embeddings_cache):  # noqa: F811
    """As a shell runs it: a new process, stdout piped. (The catalog's embeddings were cached by
    the first tests; building them the first time still shows retriever/build.py's bar.)"""
    _select(dabench, KNIGHT, "--format", "json")  # the embeddings cache is warm from here on
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "diffagent.cli", "select", KNIGHT, "--catalog", str(dabench)]
        + ["--selector", "retrieval", "--seed", "7", "--format", "a1111-api"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == KNIGHT_BODY
    assert "it/s]" not in done.stderr and "%|" not in done.stderr, done.stderr[-3000:]
