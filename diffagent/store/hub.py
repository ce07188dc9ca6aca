"""Files of Hugging Face hub repositories (an architecture's companions: text encoders, VAE), fetched
into the same verified content-addressed store as Civitai's.

The hub answers `HEAD {endpoint}/{repo}/resolve/{revision}/{path}` for a file kept in Git LFS with
`X-Linked-Etag: "<sha256>"` (then redirects to its storage); huggingface_hub reads the hash the
same way. That hash is what the download is verified against. The endpoint is `--hub-url`, else
HF_ENDPOINT (huggingface_hub's own variable), else https://huggingface.co; the bundled sample's
server answers the same paths with its tiny companions.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import httpx

from diffagent.store.civitai_store import CivitaiModelStore
from diffagent.store.download import DownloadError
from schemas.architectures import HubFile

DEFAULT_HUB_URL = "https://huggingface.co"
SHA256_HEADER = "x-linked-etag"


def hub_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("HF_ENDPOINT") or DEFAULT_HUB_URL).rstrip("/")


def resolve_path(file: HubFile) -> str:
    """The URL path of a hub file (what the bundled sample's server answers too)."""
    return f"/{file.repo}/resolve/{quote(file.revision)}/{quote(file.path)}"


def resolve_url(endpoint: str, file: HubFile) -> str:
    return f"{endpoint}{resolve_path(file)}"


def hub_sha256(url: str) -> str:
    """The SHA256 the hub publishes for an LFS file (HEAD, redirects not followed)."""
    response = httpx.head(url, follow_redirects=False, timeout=30.0)
    if response.status_code >= 400:
        raise DownloadError(f"{url} answered HTTP {response.status_code}")
    digest = response.headers.get(SHA256_HEADER, "").strip().strip('"').lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise DownloadError(
            f"{url} published no SHA256 ({SHA256_HEADER}: {digest!r}); refusing an unverified file"
        )
    return digest


def fetch_hub_file(store: CivitaiModelStore, file: HubFile, endpoint: str) -> tuple[Path, str, str]:
    """(verified file in the store, its SHA256, the URL it came from)."""
    url = resolve_url(endpoint, file)
    sha256 = hub_sha256(url)
    return store.fetch_url(url, sha256), sha256, url
