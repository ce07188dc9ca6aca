"""Resumable HTTP downloads for model files (Civitai: Bearer key, redirect to a signed URL)."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
from tqdm import tqdm

from diffagent.civitai.refusals import Refusal, download_refusal

log = logging.getLogger(__name__)


class DownloadError(RuntimeError):
    """A download that cannot succeed by retrying (401/403/404, ...) or ran out of attempts.
    `refusal`: why Civitai refused it (login, early access, archived, quota, ...), when it did."""

    def __init__(self, message: str, refusal: Refusal | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal


def filename_from_content_disposition(header: str | None) -> str | None:
    """`attachment; filename="x.safetensors"` (or RFC 5987 filename*=UTF-8''x) -> the file name."""
    if not header:
        return None
    extended = re.search(r"filename\*\s*=\s*[^']*'[^']*'([^;]+)", header, re.IGNORECASE)
    if extended:
        return Path(unquote(extended.group(1).strip().strip('"'))).name
    plain = re.search(r'filename\s*=\s*"([^"]+)"|filename\s*=\s*([^;]+)', header, re.IGNORECASE)
    if plain:
        return Path((plain.group(1) or plain.group(2)).strip()).name
    return None


def download(
    url: str,
    partial: Path,
    api_key: str | None = None,
    attempts: int = 5,
    timeout: float = 60.0,
    backoff: float = 1.0,
    progress: bool = True,
) -> str | None:
    """Download `url` into `partial`, resuming from its current size with a Range request.

    The key goes in `Authorization: Bearer`; httpx drops it when a redirect leaves the origin, so a
    signed storage URL never sees it. Returns the file name from Content-Disposition (None if absent).
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    partial.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        try:
            with httpx.Client(follow_redirects=True, timeout=timeout, headers=headers) as client:
                finished, file_name = _transfer(client, url, partial, bool(api_key), progress)
            if finished:
                return file_name
        except httpx.TransportError as error:  # includes a peer closing mid-body
            log.warning(
                "download attempt %d/%d of %s broke off (%s); resuming", attempt, attempts, _safe(url), error
            )
            time.sleep(backoff * (2 ** (attempt - 1)))
    raise DownloadError(f"download of {_safe(url)} did not finish after {attempts} attempts")


def _transfer(
    client: httpx.Client, url: str, partial: Path, has_key: bool, progress: bool
) -> tuple[bool, str | None]:
    """One GET (ranged when `partial` has bytes); (finished, served file name)."""
    offset = partial.stat().st_size if partial.exists() else 0
    ranged = {"Range": f"bytes={offset}-"} if offset else {}
    with client.stream("GET", url, headers=ranged) as response:
        if response.status_code in (401, 403, 410, 429):
            response.read()
            retry_after = response.headers.get("retry-after")
            refusal = download_refusal(response.status_code, response.text, retry_after, has_key)
            reason = refusal.reason if refusal else f"HTTP {response.status_code}"
            raise DownloadError(
                f"download of {_safe(url)} refused with {response.status_code}; {reason}", refusal
            )
        if response.status_code == 416:  # our offset is past the end: start over
            partial.unlink(missing_ok=True)
            return False, None
        if response.status_code >= 400:
            raise DownloadError(f"download of {_safe(url)} failed with HTTP {response.status_code}")
        file_name = filename_from_content_disposition(response.headers.get("content-disposition"))
        resumed = response.status_code == 206  # a 200 to a Range request means the server restarted
        start = offset if resumed else 0
        total = int(response.headers.get("content-length", 0)) + start
        bar = tqdm(
            total=total or None,
            initial=start,
            unit="B",
            unit_scale=True,
            desc=file_name,
            disable=not progress,
        )
        with partial.open("ab" if resumed else "wb") as handle, bar:
            for chunk in response.iter_bytes():  # unbuffered: what arrived is kept if the link drops
                handle.write(chunk)
                bar.update(len(chunk))
    return True, file_name


def _safe(url: str) -> str:
    """The URL without its query string, which may hold a `token=` or a signature."""
    return url.split("?", 1)[0]
