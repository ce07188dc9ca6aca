"""A store for `--profile tiny`: every model version gets its own deterministic tiny weights.

A Checkpoint version is the tiny SD 1.5 or SDXL pipeline with its UNet perturbed by noise seeded
from the version id; a LoRA version is a random rank-4 LoRA on the tiny UNet's attention
projections, seeded the same way. So different catalog entries render differently, offline, and
the same entry always renders the same. The architecture's base model (version
BASE_MODEL_VERSION_ID, what default APIs name when the base is not a catalog entry) is the tiny
pipeline itself, unperturbed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch

from diffagent.store.base import Kind, ResolvedModel, file_sha256, is_base_model

ARCH = {"SD 1.5": "sd15", "SDXL 1.0": "sdxl"}
UNET_WEIGHTS = Path("unet") / "diffusion_pytorch_model.safetensors"
CHECKPOINT_NOISE = 0.3  # relative to each tensor's std: enough to change images visibly
LORA_RANK = 4
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


def _arch(base_model: str) -> str:
    if base_model not in ARCH:
        raise ValueError(f"unknown base_model {base_model!r}; expected one of {tuple(ARCH)}")
    return ARCH[base_model]


class TinyModelStore:
    """resolve(version_id, kind, base_model) -> deterministic tiny weights under `cache_dir`."""

    def __init__(self, tiny_dir: Path, cache_dir: Path | None = None):
        self.tiny_dir = Path(tiny_dir)
        self.cache_dir = Path(cache_dir) if cache_dir else self.tiny_dir / "store"
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def resolve(self, version_id: int, kind: Kind, base_model: str) -> ResolvedModel:
        arch = _arch(base_model)
        if is_base_model(version_id, kind):
            path = self.tiny_dir / arch
            return ResolvedModel(version_id, kind, base_model, path, file_sha256(path / UNET_WEIGHTS))
        if kind == "Checkpoint":
            path = self.cache_dir / f"checkpoint-{arch}-{version_id}"
            if not path.exists():
                self._write_checkpoint(path, arch, version_id)
            digest = file_sha256(path / UNET_WEIGHTS)
        elif kind == "LORA":
            path = self.cache_dir / f"lora-{arch}-{version_id}.safetensors"
            if not path.exists():
                self._write_lora(path, arch, version_id)
            digest = file_sha256(path)
        else:
            raise ValueError(f"unknown model kind {kind!r}; expected Checkpoint or LORA")
        return ResolvedModel(version_id, kind, base_model, path, digest)

    def _write_checkpoint(self, path: Path, arch: str, version_id: int) -> None:
        from safetensors.torch import load_file, save_file

        staging = Path(tempfile.mkdtemp(dir=self.cache_dir, prefix=".tmp-"))
        shutil.copytree(self.tiny_dir / arch, staging, dirs_exist_ok=True)
        weights = load_file(str(staging / UNET_WEIGHTS))
        generator = torch.Generator().manual_seed(version_id)
        for name in sorted(weights):
            tensor = weights[name]
            if tensor.is_floating_point() and tensor.numel() > 1:
                noise = torch.randn(tensor.shape, generator=generator, dtype=torch.float32)
                weights[name] = (tensor + CHECKPOINT_NOISE * tensor.float().std() * noise).to(tensor.dtype)
        save_file(weights, str(staging / UNET_WEIGHTS))
        try:
            os.replace(staging, path)  # atomic: a half-written folder never looks complete
        except OSError:
            # Another process (a parallel rollout worker) wrote the same deterministic weights
            # first: keep its folder, drop ours.
            if not path.exists():
                raise
            shutil.rmtree(staging, ignore_errors=True)

    def _write_lora(self, path: Path, arch: str, version_id: int) -> None:
        from diffusers import UNet2DConditionModel
        from safetensors.torch import save_file

        unet = UNet2DConditionModel.from_pretrained(self.tiny_dir / arch / "unet")
        generator = torch.Generator().manual_seed(version_id)
        tensors: dict[str, torch.Tensor] = {}
        for name, module in sorted(unet.named_modules()):
            if isinstance(module, torch.nn.Linear) and name.endswith(LORA_TARGETS) and ".attn" in name:
                down = (
                    torch.randn((LORA_RANK, module.in_features), generator=generator)
                    / module.in_features**0.5
                )
                up = torch.randn((module.out_features, LORA_RANK), generator=generator)
                tensors[f"unet.{name}.lora_A.weight"] = down.contiguous()
                tensors[f"unet.{name}.lora_B.weight"] = up.contiguous()
        temporary = path.with_suffix(".tmp")
        save_file(tensors, str(temporary))
        os.replace(temporary, path)
