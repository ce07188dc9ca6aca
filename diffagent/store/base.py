"""What a model-file store hands the renderer: a verified local file (or folder) and its hash."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

Kind = Literal["Checkpoint", "LORA"]


@dataclass(frozen=True)
class ResolvedModel:
    """A model version on local disk.

    `path`: a .safetensors file (single-file checkpoint or LoRA) or a diffusers folder.
    `sha256`: the content hash the render cache keys on (verified against the catalog for real files).
    """

    version_id: int
    kind: Kind
    base_model: str
    path: Path
    sha256: str


class ModelStore(Protocol):
    def resolve(self, version_id: int, kind: Kind, base_model: str) -> ResolvedModel: ...


class PickleRefused(ValueError):
    """A pickle checkpoint (.ckpt/.pt/.bin, format PickleTensor): loading it can run arbitrary code."""


PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl")


def refuse_pickle(file_name: str, file_format: str | None = None) -> None:
    """Raise PickleRefused for a pickle file name or Civitai format; safetensors pass."""
    lowered = file_name.lower()
    if (file_format or "").lower() == "pickletensor" or lowered.endswith(PICKLE_SUFFIXES):
        raise PickleRefused(
            f"refusing pickle checkpoint {file_name!r} (format {file_format or 'unknown'}): it can run code "
            "when loaded; only .safetensors files are used"
        )
    if not lowered.endswith(".safetensors"):
        raise ValueError(f"model file {file_name!r} is not a .safetensors file")
