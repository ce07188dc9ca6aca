"""The exported diffusers script, run as a user runs it: in a fresh Python, beside the files,
with the hub offline. The config folder is the tiny SD 1.5 pipeline, named through the same
DIFFAGENT_SD15_CONFIG setting `diffagent render` reads."""

from __future__ import annotations

import os
import subprocess
import sys

from PIL import Image

from diffagent.exports import export, export_inputs
from tests.exports.examples import CATALOG, catalog_api


def test_sd15_lora_script_with_clip_skip_renders_offline(tmp_path, monkeypatch):
    from diffagent.tiny.diffusion import build_tiny_sd15, write_clip_tokenizer
    from diffagent.tiny.files import write_version_file

    tiny = tmp_path / "tiny"
    build_tiny_sd15(write_clip_tokenizer(tiny / "clip-tokenizer")).save_pretrained(tiny / "sd15")
    files = tmp_path / "files"
    write_version_file(tiny, 1300, "Checkpoint", "sd1", files / "realisticVision_v51.safetensors")
    write_version_file(tiny, 4410, "LORA", "sd1", files / "inkLines_v2.safetensors")
    monkeypatch.setenv("DIFFAGENT_SD15_CONFIG", str(tiny / "sd15"))
    api = catalog_api(
        "Ink Lines",
        "Realistic Vision",
        width=256,
        height=256,
        sampling_method="DPM++ 2M Karras",
        sampling_steps=2,
        cfg_scale=7.0,
        clip_skip=2,
    )
    made = export_inputs(api, CATALOG, "a fox", "blurry", seed=3, lora_weight=0.5, trigger_words=["ink"])
    script = export("diffusers", made)
    assert f"config={str(tiny / 'sd15')!r}" in script and "# Runs offline" in script
    (files / "render.py").write_text(script, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)  # the script needs diffusers and torch only, not this project
    done = subprocess.run(
        [sys.executable, "render.py"], cwd=files, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with Image.open(files / "diffagent.png") as image:
        assert image.size == (256, 256)
