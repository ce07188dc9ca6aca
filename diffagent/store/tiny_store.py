"""A store for `--profile tiny`: tiny weights in the layouts Civitai serves.

`--profile tiny` changes the weights, not the path. A catalog version whose download URL is
served by a local Civitai server (the bundled one serves tiny files for its sample) is downloaded,
SHA256-verified and kept exactly as the real store does (`CivitaiModelStore`). A version whose URL
is anywhere else (civitai.com in a capture: no network, and real weights the tiny pipelines could
not load) gets a file synthesized from its version id in the same layouts (`tiny.files`): an LDM
single-file checkpoint or a kohya LoRA, deterministic, so the same entry always renders the same.
The architecture's base model (version BASE_MODEL_VERSION_ID) is the tiny pipeline folder itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

from diffagent.store.base import Kind, ResolvedModel, file_sha256, is_base_model
from diffagent.store.civitai_store import CivitaiModelStore
from diffagent.tiny.files import PIPELINE_FOLDERS, write_version_file
from schemas.architectures import ARCHITECTURE_TABLE
from schemas.dabench import CatalogEntry
from schemas.t2i import architecture_of

# Where a local Civitai server (`diffagent civitai serve`) answers: the only download hosts the
# tiny profile uses. Anything else (civitai.com's real weights, which the tiny pipelines cannot
# load, or a host that is not there) gets a synthesized file instead.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# The weights file a base model's SHA256 is taken from: the UNet (SD), else the transformer.
UNET_WEIGHTS = Path("unet") / "diffusion_pytorch_model.safetensors"
TRANSFORMER_WEIGHTS = Path("transformer") / "diffusion_pytorch_model.safetensors"
BASE_WEIGHTS = {
    name: TRANSFORMER_WEIGHTS if arch.transformer_only_files else UNET_WEIGHTS
    for name, arch in ARCHITECTURE_TABLE.items()
}


def served_locally(url: str) -> bool:
    """Whether a download URL is a local Civitai server's (loopback), not real Civitai's."""
    return (urlparse(url).hostname or "").lower() in LOCAL_HOSTS


class TinyModelStore:
    """resolve(version_id, kind, base_model) -> tiny weights, downloaded or synthesized."""

    def __init__(
        self,
        tiny_dir: Path,
        cache_dir: Path | None = None,
        catalog: Iterable[CatalogEntry] = (),
        api_key: str | None = None,
    ):
        self.tiny_dir = Path(tiny_dir)
        self.cache_dir = Path(cache_dir) if cache_dir else self.tiny_dir / "store"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.entries = {entry.version_id: entry for entry in catalog}
        self.downloads = CivitaiModelStore(
            self.entries.values(), cache_dir=self.cache_dir / "downloads", api_key=api_key
        )

    def resolve(self, version_id: int, kind: Kind, base_model: str) -> ResolvedModel:
        entry = self.entries.get(version_id)
        base_model = entry.base_model if entry else base_model
        architecture = architecture_of(base_model)
        if is_base_model(version_id, kind):
            path = self.tiny_dir / PIPELINE_FOLDERS[architecture]
            digest = file_sha256(path / BASE_WEIGHTS[architecture])
            return ResolvedModel(version_id, kind, base_model, path, digest)
        if kind not in ("Checkpoint", "LORA"):
            raise ValueError(f"unknown model kind {kind!r}; expected Checkpoint or LORA")
        if entry is not None and served_locally(entry.download_url):
            return self.downloads.resolve(version_id, kind, base_model)
        path = self.cache_dir / f"{kind.lower()}-{architecture}-{version_id}.safetensors"
        if not path.exists():
            write_version_file(self.tiny_dir, version_id, kind, architecture, path)
        return ResolvedModel(version_id, kind, base_model, path, file_sha256(path))
