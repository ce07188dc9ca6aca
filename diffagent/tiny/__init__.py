"""Tiny random-weight models built from configs, for tests and the demo.

The same loading code paths take these and real weights: a tiny model is a real Hugging Face /
diffusers / open_clip folder, just small. Each part lives in its own module:
`llm.py` (causal LM + tokenizer), `diffusion.py` (SD 1.5- and SDXL-shaped pipelines),
`scorers.py` (CLIP, ImageReward-shaped and HPS-shaped scorers).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


def default_tiny_dir() -> Path:
    """Where `--profile tiny` makes the tiny models on first use."""
    root = os.environ.get("DIFFAGENT_TINY_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("DIFFAGENT_CACHE_DIR", "~/.cache/diffagent")).expanduser() / "tiny-models"


# Bump whenever a writer below changes what it writes (configs, file layout, tokenizer): a cache
# marked with another layout is rebuilt, never reused half-compatible.
TINY_LAYOUT_VERSION = 7
MARKER = "COMPLETE"


def write_tiny_models(out: Path) -> dict[str, Path]:
    """Write every tiny model under `out`; returns the folder of each by name."""
    from diffagent.tiny.diffusion import write_tiny_pipelines
    from diffagent.tiny.llm import write_tiny_llm
    from diffagent.tiny.scorers import write_tiny_scorers

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {"llm": write_tiny_llm(out / "llm")}
    written.update(write_tiny_pipelines(out))
    written.update(write_tiny_scorers(out))
    (out / MARKER).write_text(json.dumps({"layout": TINY_LAYOUT_VERSION}) + "\n")
    return written


def marker_layout(out: Path) -> int | None:
    """The layout version a finished write recorded in `out`, or None (no marker, or an old one)."""
    try:
        value = json.loads((out / MARKER).read_text()).get("layout")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def ensure_tiny_models(out: Path | None = None) -> Path:
    """The tiny-models folder, written once per layout version.

    A folder whose marker is missing or names another layout (a stale cache) is rebuilt beside it
    and swapped in by renames, so a process still reading the old files is not cut off mid-read.
    Everything derived from the old weights (the tiny store's `store/`) goes with it.
    """
    out = out or default_tiny_dir()
    if marker_layout(out) == TINY_LAYOUT_VERSION:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-new-"))
    write_tiny_models(staging)
    if marker_layout(out) == TINY_LAYOUT_VERSION:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
        return out
    stale = None
    if out.exists():
        stale = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-stale-"))
        os.replace(out, stale / "old")
    os.replace(staging, out)
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)
    return out
