"""Render cache: one PNG per (model hash, LoRA hash, prompt, negative prompt, seed, size, steps,
CFG, sampler, LoRA scale), under an artifact root that is a local path or any fsspec URL."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass

from PIL import Image


@dataclass(frozen=True)
class RenderKey:
    model_sha256: str
    lora_sha256: str | None
    prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    steps: int
    cfg_scale: float
    sampler: str
    lora_scale: float

    def digest(self) -> str:
        """sha256 of the fields as canonical JSON: equal settings give the same file name."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


def png_bytes(image: Image.Image) -> bytes:
    """PNG with no metadata chunks, so equal pixels give equal bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


class RenderCache:
    def __init__(self, root: str):
        from fsspec.core import url_to_fs

        self.root = root.rstrip("/")
        self.fs, self._base = url_to_fs(self.root)

    def _path(self, key: RenderKey) -> str:
        digest = key.digest()
        return f"{self._base}/{digest[:2]}/{digest}.png"

    def get(self, key: RenderKey) -> Image.Image | None:
        path = self._path(key)
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "rb") as handle:
            image = Image.open(io.BytesIO(handle.read()))
            image.load()
        return image

    def put(self, key: RenderKey, image: Image.Image) -> str:
        path = self._path(key)
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        temporary = path + ".partial"
        with self.fs.open(temporary, "wb") as handle:
            handle.write(png_bytes(image))
        self.fs.mv(temporary, path)  # readers never see a half-written PNG
        return path
