"""Tiny random-weight models built from configs, for tests and the demo.

The same loading code paths take these and real weights: a tiny model is a real Hugging Face /
diffusers / open_clip folder, just small. Each part lives in its own module:
`llm.py` (causal LM + tokenizer), `diffusion.py` (SD 1.5- and SDXL-shaped pipelines),
`scorers.py` (CLIP, ImageReward-shaped and HPS-shaped scorers).
"""

from __future__ import annotations

import os
from pathlib import Path


def default_tiny_dir() -> Path:
    """Where `--profile tiny` makes the tiny models on first use."""
    root = os.environ.get("DIFFAGENT_TINY_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("DIFFAGENT_CACHE_DIR", "~/.cache/diffagent")).expanduser() / "tiny-models"


def write_tiny_models(out: Path) -> dict[str, Path]:
    """Write every tiny model under `out`; returns the folder of each by name."""
    from diffagent.tiny.diffusion import write_tiny_pipelines
    from diffagent.tiny.llm import write_tiny_llm
    from diffagent.tiny.scorers import write_tiny_scorers

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {"llm": write_tiny_llm(out / "llm")}
    written.update(write_tiny_pipelines(out))
    written.update(write_tiny_scorers(out))
    (out / "COMPLETE").write_text("tiny models written by diffagent\n")
    return written


def ensure_tiny_models(out: Path | None = None) -> Path:
    """The tiny-models folder, written once (the COMPLETE marker says a write finished)."""
    out = out or default_tiny_dir()
    if not (out / "COMPLETE").exists():
        write_tiny_models(out)
    return out
