"""The real model-file store: Civitai downloads, SHA256-verified, in a content-addressed cache."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Mapping
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
        url, sha256, file_name, file_format = self._locate(version_id)
        refuse_pickle(file_name, file_format)
        target = self.content_path(sha256)
        if not target.exists():
            self._fetch(url, sha256, target, version_id)
        return target, sha256

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

    def _locate(self, version_id: int) -> tuple[str, str, str, str | None]:
        entry = self.entries.get(version_id)
        if entry is not None:
            return entry.download_url, entry.sha256.lower(), entry.file_name, None
        response = httpx.get(
            f"{self.civitai_url}/model-versions/{version_id}", timeout=30.0, follow_redirects=True
        )
        if response.status_code != 200:
            raise ValueError(
                f"model version {version_id} is not in the catalog and Civitai answered "
                f"{response.status_code}"
            )
        files = response.json().get("files") or []
        chosen = next((f for f in files if f.get("primary")), files[0] if files else None)
        if not chosen or not (chosen.get("hashes") or {}).get("SHA256") or not chosen.get("downloadUrl"):
            raise ValueError(f"model version {version_id} has no downloadable file with a SHA256")
        return (
            chosen["downloadUrl"],
            chosen["hashes"]["SHA256"].lower(),
            chosen.get("name", ""),
            (chosen.get("metadata") or {}).get("format"),
        )

    def _fetch(self, url: str, sha256: str, target: Path, version_id: int) -> None:
        partial = self.cache_dir / "partial" / f"{sha256}.part"
        served_name = download(url, partial, self._key, attempts=self.attempts, backoff=self.backoff)
        if served_name:
            refuse_pickle(served_name)  # the server's name counts too: a .ckpt behind a safetensors entry
        actual = file_sha256(partial)
        if actual != sha256:
            partial.unlink()
            raise HashMismatch(
                f"version {version_id}: downloaded SHA256 {actual} but the catalog says {sha256}"
            )
        check_safetensors_header(partial)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, target)
        log.info("stored version %s as %s (served as %s)", version_id, target, served_name)


__all__ = ["CivitaiModelStore", "DownloadError", "HashMismatch", "check_safetensors_header", "file_sha256"]
