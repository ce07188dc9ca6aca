"""Async Civitai API client: bounded concurrency, cursor pagination, retries that survive the edge.

- Cursor pagination only: `page` breaks past 1,000 items and with `query` (notes/civitai-api.md).
- The API key goes in an `Authorization: Bearer` header. It is never put in a URL, a log line, an
  exception message or a repr, so it cannot leak into artifacts.
- 429, 5xx, timeouts, connection errors and HTML challenge pages are retried with exponential
  backoff (doubling from `backoff_base` up to `backoff_max`); `Retry-After` wins when present.
- `/images` is always asked `withMeta=true`: today `meta` is null without it.
- By-hash look-ups are cached (and concurrent look-ups of one hash share one request).
  `versions_by_hashes` resolves SHA256 hashes in bulk (`POST /model-versions/by-hash/ids`, up to
  10,000 a call, answering `[{modelVersionId, modelId, hash}]`); the endpoint takes SHA256 only,
  so other hashes (A1111's AutoV2 `Model hash`) and a server without it (404/405) fall back to
  one `GET /model-versions/by-hash/{hash}` each.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from schemas.civitai import Page

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504, 520, 522, 524}
BULK_HASHES_MAX = 10_000  # civitai/civitai src/pages/api/v1/model-versions/by-hash/ids.ts
SHA256_HEX = re.compile(r"^[0-9A-F]{64}$")
# `/images` sort values (civitai/civitai ImageSort); the budget takes the most-reacted first.
IMAGE_SORTS = ("Most Reactions", "Most Comments", "Most Collected", "Newest", "Oldest")


class CivitaiError(RuntimeError):
    """A request that failed for good (not retryable, or out of retries)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How Civitai requests are retried (429, 5xx, timeouts)."""

    max_attempts: int = field(default=8, metadata={"help": "Attempts per request before it fails."})
    backoff_base: float = field(default=1.0, metadata={"help": "First retry delay in seconds (doubles)."})
    backoff_max: float = field(default=30.0, metadata={"help": "Longest retry delay in seconds."})
    retry_after_max: float = field(
        default=120.0, metadata={"help": "Longest wait a Retry-After header can ask for, in seconds."}
    )

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.retry_after_max)
            except ValueError:
                pass  # an HTTP-date Retry-After: fall back to our own backoff
        backoff = min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max)
        return backoff * (0.5 + random.random() / 2)  # jitter keeps parallel retries apart


def looks_like_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return "text/html" in content_type or response.content.lstrip()[:1] == b"<"


class CivitaiClient:
    def __init__(
        self,
        base_url: str,
        api_key: SecretStr | str | None = None,
        concurrency: int = 8,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        headers = {"Accept": "application/json", "User-Agent": "diffagent/0.1"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=True)
        self._semaphore = asyncio.Semaphore(concurrency)
        self.retry = retry or RetryPolicy()
        self._hash_cache: dict[str, dict[str, Any] | None] = {}
        self._hash_locks: dict[str, asyncio.Lock] = {}
        self._version_cache: dict[int, dict[str, Any] | None] = {}
        self.bulk_hashes: bool | None = None  # None: not tried yet; False: the server lacks it
        self.retries = 0  # how many retries this client made, for the build's counts

    def __repr__(self) -> str:  # never show headers: they hold the key
        return f"CivitaiClient({self.base_url!r})"

    async def __aenter__(self) -> CivitaiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def get_json(
        self, path: str, params: dict[str, Any] | None = None, *, allow_404: bool = False
    ) -> Any:
        """GET `base_url + path` and decode JSON, retrying what is worth retrying."""
        return await self.request_json("GET", path, params, absent=(404,) if allow_404 else ())

    async def request_json(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        *,
        absent: tuple[int, ...] = (),
    ) -> Any:
        """`method` `base_url + path` and decode JSON, retrying what is worth retrying; a status in
        `absent` answers None (a 404 for an unknown hash, a 405 for an endpoint this server lacks)."""
        url = f"{self.base_url}{path}"
        last_problem = ""
        for attempt in range(1, self.retry.max_attempts + 1):
            retry_after: str | None = None
            try:
                async with self._semaphore:
                    response = await self._http.request(method, url, params=params, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as error:
                last_problem = f"{type(error).__name__}"
            else:
                if response.status_code in absent:
                    return None
                if response.status_code == 429 and "too many pages" in response.text.lower():
                    # Page-based pagination past 1,000 items: retrying cannot help (use cursors).
                    raise CivitaiError(f"{method} {url} params={params} answered 429: {response.text[:200]}")
                if response.status_code in RETRY_STATUSES or looks_like_html(response):
                    retry_after = response.headers.get("retry-after")
                    kind = "HTML challenge page" if looks_like_html(response) else "status"
                    last_problem = f"{kind} {response.status_code}"
                elif response.status_code >= 400:
                    raise CivitaiError(
                        f"{method} {url} params={params} answered {response.status_code}: "
                        f"{response.text[:200]}"
                    )
                else:
                    try:
                        return response.json()
                    except ValueError:
                        last_problem = "undecodable JSON"
            if attempt == self.retry.max_attempts:
                break
            delay = self.retry.delay(attempt, retry_after)
            self.retries += 1
            log.info("retrying %s (%s) in %.2fs, attempt %d", path, last_problem, delay, attempt + 1)
            await asyncio.sleep(delay)
        raise CivitaiError(
            f"{method} {url} params={params} failed after {self.retry.max_attempts} attempts: {last_problem}"
        )

    async def models_page(
        self,
        cursor: str | None,
        *,
        types: list[str],
        base_models: list[str],
        limit: int = 100,
        sort: str | None = None,
    ) -> Page:
        params: dict[str, Any] = {"limit": limit, "types": types, "baseModels": base_models}
        if sort:
            params["sort"] = sort
        if cursor:
            params["cursor"] = cursor
        return Page.model_validate(await self.get_json("/models", params))

    async def images_page(
        self, version_id: int, cursor: str | None, *, limit: int = 200, sort: str | None = None
    ) -> Page:
        params: dict[str, Any] = {
            "modelVersionId": version_id,
            "limit": limit,
            "withMeta": "true",
            "nsfw": "X",
        }  # ask for every level: the filter counts NSFW rejects
        if sort:
            if sort not in IMAGE_SORTS:
                raise ValueError(f"unknown /images sort {sort!r}; Civitai takes {list(IMAGE_SORTS)}")
            params["sort"] = sort
        if cursor:
            params["cursor"] = cursor
        return Page.model_validate(await self.get_json("/images", params))

    async def model_version(self, version_id: int) -> dict[str, Any] | None:
        return await self.get_json(f"/model-versions/{version_id}", allow_404=True)

    async def version_by_hash(self, value: str) -> dict[str, Any] | None:
        """The version whose file has this hash (AutoV1/V2, SHA256, CRC32, BLAKE3), or None."""
        key = value.strip().upper()
        if key in self._hash_cache:
            return self._hash_cache[key]
        lock = self._hash_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._hash_cache:
                self._hash_cache[key] = await self.get_json(f"/model-versions/by-hash/{key}", allow_404=True)
        return self._hash_cache[key]

    def seed_hash_cache(self, known: dict[str, dict[str, Any] | None]) -> None:
        """Answers from an earlier run, so a resumed crawl asks no hash twice."""
        self._hash_cache.update({k.upper(): v for k, v in known.items()})

    async def versions_by_hashes(self, values: list[str]) -> dict[str, dict[str, Any] | None]:
        """The version of each hash (upper-cased key), or None: SHA256 hashes in bulk, others one
        GET each. A bulk answer names version ids; each distinct version is fetched once."""
        keys = sorted({value.strip().upper() for value in values})
        todo = [key for key in keys if key not in self._hash_cache]
        sha256 = [key for key in todo if SHA256_HEX.match(key)]
        for start in range(0, len(sha256), BULK_HASHES_MAX):
            if self.bulk_hashes is False:
                break
            chunk = sha256[start : start + BULK_HASHES_MAX]
            found = await self.request_json(
                "POST", "/model-versions/by-hash/ids", body=chunk, absent=(404, 405)
            )
            if found is None:
                log.info("no bulk by-hash endpoint at %s: one request per hash", self.base_url)
                self.bulk_hashes = False
                break
            self.bulk_hashes = True
            version_of: dict[str, int] = {}
            for entry in found:  # a hash shared by several files: the lowest version id, stably
                key, version_id = str(entry["hash"]).upper(), int(entry["modelVersionId"])
                version_of[key] = min(version_of.get(key, version_id), version_id)
            versions = await asyncio.gather(*(self._version(v) for v in sorted(set(version_of.values()))))
            records = dict(zip(sorted(set(version_of.values())), versions, strict=True))
            for key in chunk:
                self._hash_cache[key] = records.get(version_of[key]) if key in version_of else None
        await asyncio.gather(*(self.version_by_hash(key) for key in todo if key not in self._hash_cache))
        return {key: self._hash_cache[key] for key in keys}

    async def _version(self, version_id: int) -> dict[str, Any] | None:
        if version_id not in self._version_cache:
            self._version_cache[version_id] = await self.model_version(version_id)
        return self._version_cache[version_id]
