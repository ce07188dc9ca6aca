"""Every architecture of the table through the renderer on the check's device (issue 25, part 5).

For each architecture, one base model's tiny pipeline (diffagent.tiny: each family's real file
layouts, random weights) renders a single-file Checkpoint and a LoRA on it, in the dtype the table
gives that family on CUDA (bfloat16 where float16 overflows), through the same `Renderer` every
stage uses. This checks the GPU path of every family (device placement, its dtype, its LoRA
loader, its scheduler) and that no image comes back blank (NaNs decode to black); the timings are
tiny-model timings, not real-shape throughput: 20-32 B families do not fit a ten-minute check.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

ARCHITECTURE_PROMPT = "a lighthouse on a cliff at dawn"


def _one_base_model_each() -> dict[str, str]:
    """Architecture -> its first base model name in the table (the family's main one)."""
    from schemas.architectures import BASE_MODELS, architecture_of

    chosen: dict[str, str] = {}
    for name in BASE_MODELS:
        chosen.setdefault(architecture_of(name), name)
    return chosen


def _apis(base_model: str, number: int, side: int, steps: int):
    from schemas.architectures import defaults_for
    from schemas.t2i import T2IApi

    defaults = defaults_for(base_model)
    checkpoint_id, lora_id = 90_000 + 2 * number, 90_001 + 2 * number
    shared = dict(
        base_model=base_model,
        width=side,
        height=side,
        sampling_method=defaults.sampling_method,
        sampling_steps=steps,
        cfg_scale=defaults.cfg_scale,
    )
    checkpoint = T2IApi(
        model=f"check-{checkpoint_id}",
        type="Checkpoint",
        model_id=checkpoint_id,
        version_id=checkpoint_id,
        **shared,
    )
    lora = T2IApi(
        model=f"check-{lora_id}",
        type="LORA",
        base_checkpoint=checkpoint.model,
        base_checkpoint_version_id=checkpoint_id,
        model_id=lora_id,
        version_id=lora_id,
        **shared,
    )
    return checkpoint, lora


def _not_blank(image) -> bool:
    """False for the black (NaN) or flat image a dtype overflow decodes to."""
    return float(np.asarray(image, dtype=np.float32).std()) > 1.0


def check_families(work: Path, device: str, smoke: bool) -> list[dict]:
    """One row per architecture: dtype, pipeline class, seconds of the Checkpoint and the LoRA
    render (the first includes loading), whether both images are non-blank and the LoRA changed
    the image at the same seed."""
    from diffagent.render import RenderSettings
    from diffagent.render.cache import png_bytes
    from diffagent.render.pipelines import render_dtype
    from diffagent.render.renderer import Renderer
    from diffagent.store.tiny_store import TinyModelStore
    from diffagent.tiny.diffusion import write_tiny_pipelines
    from diffagent.tiny.files import PIPELINE_FOLDERS
    from schemas.architectures import BASE_MODELS, architecture_of, config_setting

    tiny = work / "tiny-families"
    write_tiny_pipelines(tiny)
    folders = {name: tiny / PIPELINE_FOLDERS[architecture_of(name)] for name in BASE_MODELS}
    configs = {config_setting(name): str(folder) for name, folder in folders.items()}
    store = TinyModelStore(tiny, work / "family-store")
    # The API asks 512 px; the renderer caps what it renders (tiny models: small is enough).
    render_size, steps = (64, 2) if smoke else (256, 4)
    rows = []
    for number, (architecture, base_model) in enumerate(sorted(_one_base_model_each().items())):
        settings = RenderSettings(
            render_device=device, max_pipelines=1, render_size=render_size, render_max_steps=steps, **configs
        )
        renderer = Renderer(store, settings)
        checkpoint, lora = _apis(base_model, number, 512, steps)
        row: dict = {"architecture": architecture, "base_model": base_model}
        row["dtype"] = str(render_dtype(settings, device, architecture)).removeprefix("torch.")
        try:
            started = time.perf_counter()
            plain = renderer.render(checkpoint, ARCHITECTURE_PROMPT, "", [0])[0]
            row["checkpoint_s"] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
            styled = renderer.render(lora, ARCHITECTURE_PROMPT, "", [0])[0]
            row["lora_s"] = round(time.perf_counter() - started, 3)
        except Exception as error:  # one family's failure is a row, not the end of the check
            row["error"] = f"{type(error).__name__}: {error}"[:300]
            rows.append(row)
            continue
        row["pipeline"] = type(next(iter(renderer.pipelines._pipelines.values()))).__name__
        row["not_blank"] = _not_blank(plain) and _not_blank(styled)
        row["lora_changes_image"] = png_bytes(plain) != png_bytes(styled)
        rows.append(row)
        del renderer
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return rows
