"""The tiny-models cache: written once per layout version; a stale layout is rebuilt, not reused."""

from __future__ import annotations

import json

import torch

from diffagent.tiny import MARKER, TINY_LAYOUT_VERSION, ensure_tiny_models, marker_layout


def test_a_stale_cache_is_rebuilt_once(tmp_path):
    """A folder from an older layout (its marker has no version, and its store holds checkpoints
    derived from the old weights) is replaced whole; a second call finds it current and writes nothing."""
    torch.set_num_threads(1)
    out = tmp_path / "tiny-models"
    (out / "store" / "checkpoint-sd15-7").mkdir(parents=True)
    (out / MARKER).write_text("tiny models written by diffagent\n")
    assert marker_layout(out) is None

    assert ensure_tiny_models(out) == out
    assert json.loads((out / MARKER).read_text()) == {"layout": TINY_LAYOUT_VERSION}
    assert not (out / "store").exists(), "weights derived from the old layout are gone"
    for folder in ("llm", "sd15", "sdxl", "clip", "image_reward", "hps"):
        assert (out / folder).is_dir(), folder
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-models"], "no staging or stale folder left"

    written = (out / MARKER).stat().st_mtime_ns
    assert ensure_tiny_models(out) == out
    assert (out / MARKER).stat().st_mtime_ns == written

    (out / MARKER).write_text(json.dumps({"layout": TINY_LAYOUT_VERSION - 1}))
    assert marker_layout(out) == TINY_LAYOUT_VERSION - 1  # another version: the next call rebuilds
