"""The real model-file store: Civitai downloads, SHA256-verified, in a content-addressed cache."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from diffagent.store.base import Kind, ResolvedModel, file_sha256, is_base_model, refuse_pickle
from diffagent.store.download import DownloadError, download
from diffagent.store.layout import safetensors_keys
from schemas.architectures import base_setting
from schemas.dabench import CatalogEntry

log = logging.getLogger(__name__)


class HashMismatch(ValueError):
    """The downloaded bytes are not the file the catalog names."""


@dataclass(frozen=True)
class VersionFile:
    """A version's file as the catalog (or Civitai) describes it."""

    version_id: int
    kind: str  # Civitai's model type: Checkpoint, LORA, ...
    base_model: str
    file_name: str  # the name every export uses
    sha256: str
    url: str
    file_format: str | None = None  # Civitai's `metadata.format` (SafeTensor, PickleTensor), if known


def check_safetensors_header(path: Path) -> None:
    """A safetensors file starts with an 8-byte little-endian length and a JSON header."""
    safetensors_keys(path)


class CivitaiModelStore:
    """resolve(version_id, kind, base_model) -> a verified local .safetensors file.

    Catalog entries give the download URL, file name and SHA256. A version outside the catalog (a
    LoRA's base checkpoint, say) is looked up at `{civitai_url}/model-versions/{id}`.
    The architecture's base model (version BASE_MODEL_VERSION_ID) is not a Civitai file: it resolves
    to `base_sources[base_model]`, a diffusers folder or hub id loaded with from_pretrained.
    """

    def __init__(
        self,
        catalog: Iterable[CatalogEntry] = (),
        cache_dir: Path | None = None,
        api_key: SecretStr | str | None = None,
        civitai_url: str | None = None,
        attempts: int = 5,
        backoff: float = 1.0,
        base_sources: Mapping[str, str] | None = None,
    ):
        from diffagent.settings import get_settings

        settings = get_settings()
        self.entries = {entry.version_id: entry for entry in catalog}
        self.cache_dir = Path(cache_dir or Path(settings.cache_dir).expanduser() / "models")
        key = api_key if api_key is not None else settings.civitai_api_key
        self._key = key.get_secret_value() if isinstance(key, SecretStr) else key
        self.civitai_url = (civitai_url or settings.civitai_url).rstrip("/")
        self.attempts, self.backoff = attempts, backoff
        self.base_sources = dict(base_sources or {})

    def __repr__(self) -> str:  # never show the key
        return f"CivitaiModelStore(cache_dir={str(self.cache_dir)!r}, entries={len(self.entries)})"

    def content_path(self, sha256: str) -> Path:
        return self.cache_dir / "sha256" / sha256[:2] / f"{sha256}.safetensors"

    def resolve(self, version_id: int, kind: Kind, base_model: str) -> ResolvedModel:
        """The catalog's base model wins over the caller's: a LoRA's base checkpoint is checked
        against what the checkpoint really is, not what the LoRA's API says it is."""
        if is_base_model(version_id, kind):
            return self.resolve_base(base_model)
        entry = self.entries.get(version_id)
        target, sha256 = self.fetch(version_id)
        return ResolvedModel(version_id, kind, entry.base_model if entry else base_model, target, sha256)

    def fetch(self, version_id: int) -> tuple[Path, str]:
        """(verified local file, its SHA256) of a version, downloaded unless already stored."""
        version = self.version_file(version_id)
        refuse_pickle(version.file_name, version.file_format)
        target = self.content_path(version.sha256)
        if not target.exists():
            self._fetch(version.url, version.sha256, target, f"version {version_id}")
        return target, version.sha256

    def fetch_url(self, url: str, sha256: str) -> Path:
        """A file from any URL (a hub file) into the store, verified against `sha256`. The key is
        not sent: it is Civitai's."""
        target = self.content_path(sha256.lower())
        if not target.exists():
            self._fetch(url, sha256.lower(), target, url, send_key=False, said_by="its server")
        return target

    def resolve_base(self, base_model: str) -> ResolvedModel:
        """The base model of an architecture from its configured source. Its render-cache key is the
        hash of the source's name: hashing a multi-GB folder on every call would cost more than a
        render, so change the name (or the cache) when the weights behind it change."""
        source = self.base_sources.get(base_model)
        if not source:
            setting = f"DIFFAGENT_{base_setting(base_model).upper()}"  # an unknown name raises here
            raise ValueError(
                f"no base model source for {base_model!r}; have {sorted(self.base_sources)} "
                f"(set {setting} to a diffusers folder or hub id)"
            )
        digest = hashlib.sha256(f"diffusers:{source}".encode()).hexdigest()
        return ResolvedModel(0, "Checkpoint", base_model, Path(source), digest, pretrained=source)

    def version_file(self, version_id: int) -> VersionFile:
        """The catalog's entry for a version, else Civitai's `/model-versions/{id}` answer."""
        entry = self.entries.get(version_id)
        if entry is not None:
            sha256 = entry.sha256.lower()
            return VersionFile(
                version_id, entry.type, entry.base_model, entry.file_name, sha256, entry.download_url
            )
        response = httpx.get(
            f"{self.civitai_url}/model-versions/{version_id}", timeout=30.0, follow_redirects=True
        )
        if response.status_code != 200:
            raise ValueError(
                f"model version {version_id} is not in the catalog and Civitai answered "
                f"{response.status_code}"
            )
        answer = response.json()
        files = answer.get("files") or []
        chosen = next((f for f in files if f.get("primary")), files[0] if files else None)
        if not chosen or not (chosen.get("hashes") or {}).get("SHA256") or not chosen.get("downloadUrl"):
            raise ValueError(f"model version {version_id} has no downloadable file with a SHA256")
        return VersionFile(
            version_id,
            str((answer.get("model") or {}).get("type", "")),
            str(answer.get("baseModel", "")),
            chosen.get("name", ""),
            chosen["hashes"]["SHA256"].lower(),
            chosen["downloadUrl"],
            (chosen.get("metadata") or {}).get("format"),
        )

    def _fetch(
        self,
        url: str,
        sha256: str,
        target: Path,
        what: str,
        send_key: bool = True,
        said_by: str = "the catalog",
    ) -> None:
        partial = self.cache_dir / "partial" / f"{sha256}.part"
        key = self._key if send_key else None
        served_name = download(url, partial, key, attempts=self.attempts, backoff=self.backoff)
        if served_name:
            refuse_pickle(served_name)  # the server's name counts too: a .ckpt behind a safetensors entry
        actual = file_sha256(partial)
        if actual != sha256:
            partial.unlink()
            raise HashMismatch(f"{what}: downloaded SHA256 {actual} but {said_by} says {sha256}")
        check_safetensors_header(partial)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, target)
        log.info("stored %s as %s (served as %s)", what, target, served_name)


__all__ = [
    "CivitaiModelStore",
    "DownloadError",
    "HashMismatch",
    "VersionFile",
    "check_safetensors_header",
    "file_sha256",
]
