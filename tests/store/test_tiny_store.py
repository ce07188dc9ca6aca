"""The tiny store: deterministic, distinct weights per version; refusal helpers."""

from __future__ import annotations

import pytest
import torch

from diffagent.store.base import PickleRefused, refuse_pickle
from diffagent.store.tiny_store import TinyModelStore


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from diffagent.tiny.diffusion import write_tiny_pipelines

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("tiny")
    write_tiny_pipelines(out)
    return out


def test_same_version_same_weights_different_versions_differ(tiny_dir, tmp_path):
    first = TinyModelStore(tiny_dir, tmp_path / "a")
    second = TinyModelStore(tiny_dir, tmp_path / "b")
    assert first.resolve(5, "Checkpoint", "SD 1.5").sha256 == second.resolve(5, "Checkpoint", "SD 1.5").sha256
    assert first.resolve(5, "Checkpoint", "SD 1.5").sha256 != first.resolve(6, "Checkpoint", "SD 1.5").sha256
    lora = first.resolve(5, "LORA", "SDXL 1.0")
    assert lora.path.suffix == ".safetensors" and lora.sha256 == second.resolve(5, "LORA", "SDXL 1.0").sha256
    assert lora.sha256 != first.resolve(6, "LORA", "SDXL 1.0").sha256


def test_bad_inputs_are_named(tiny_dir, tmp_path):
    store = TinyModelStore(tiny_dir, tmp_path)
    with pytest.raises(ValueError, match="'SD 2.1'"):
        store.resolve(1, "Checkpoint", "SD 2.1")
    with pytest.raises(ValueError, match="'VAE'"):
        store.resolve(1, "VAE", "SD 1.5")


def test_refuse_pickle():
    for name in ("model.ckpt", "model.pt", "MODEL.CKPT"):
        with pytest.raises(PickleRefused, match="only .safetensors"):
            refuse_pickle(name)
    with pytest.raises(PickleRefused):
        refuse_pickle("model.safetensors", "PickleTensor")
    with pytest.raises(ValueError, match="not a .safetensors"):
        refuse_pickle("model.zip")
    refuse_pickle("model.safetensors", "SafeTensor")


def test_the_tiny_profile_downloads_only_from_a_local_civitai_server():
    from diffagent.store.tiny_store import served_locally

    assert served_locally("http://127.0.0.1:8787/api/download/models/10100")
    assert served_locally("http://localhost:8787/api/download/models/10100")
    assert not served_locally("https://civitai.com/api/download/models/10100")
    assert not served_locally("https://example.invalid/1")
