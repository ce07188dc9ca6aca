"""What a model-file store hands the renderer: a verified local file (or folder) and its hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from schemas.t2i import BASE_MODEL_VERSION_ID

Kind = Literal["Checkpoint", "LORA"]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (model files are gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ResolvedModel:
    """A model version on local disk.

    `path`: a .safetensors file (single-file checkpoint or LoRA) or a diffusers folder.
    `sha256`: the content hash the render cache keys on (verified against the catalog for real files).
    `pretrained`: set only for an architecture's base model (version BASE_MODEL_VERSION_ID): the
    diffusers folder or hub id the renderer loads with `from_pretrained` (then `path` is unused).
    """

    version_id: int
    kind: Kind
    base_model: str
    path: Path
    sha256: str
    pretrained: str | None = None


class ModelStore(Protocol):
    def resolve(self, version_id: int, kind: Kind, base_model: str) -> ResolvedModel: ...


def is_base_model(version_id: int, kind: Kind) -> bool:
    """Whether a request names the architecture's own base model (schemas.t2i.BASE_MODEL_VERSION_ID),
    not a Civitai version. Only a Checkpoint can be the base model."""
    if version_id != BASE_MODEL_VERSION_ID:
        return False
    if kind != "Checkpoint":
        raise ValueError(
            f"version {version_id} is the architecture's base model, a Checkpoint; got kind {kind!r}"
        )
    return True


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
