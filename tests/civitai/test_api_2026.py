"""The 2026 API against the local server: bulk hash resolution (request counts), download refusals
(401/403/410/429, a token without scope, paid versions) as one clear reason each, `/images` sort."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from diffagent.civitai.client import CivitaiClient, RetryPolicy
from diffagent.civitai.downloads import Downloads
from diffagent.civitai.local_api_2026 import Api2026
from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.refusals import download_refusal, paid_access_refusal
from diffagent.civitai.sample_community import EARLY_ACCESS_ENDS, EARLY_BIRD
from diffagent.civitai.source import CivitaiSource
from diffagent.store.download import DownloadError, download

FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.05)
SOURCE = CivitaiSource.sample()
# Every crawled checkpoint version's file SHA256: version id -> hash.
SHA256_OF = {
    version["id"]: version["files"][0]["hashes"]["SHA256"]
    for model in SOURCE.models
    if model["type"] == "Checkpoint"
    for version in model["modelVersions"]
}
UNKNOWN_SHA256 = "0" * 64


def resolve(server: CivitaiServer, hashes: list[str]) -> dict:
    async def go():
        async with CivitaiClient(server.url, retry=FAST) as client:
            return await client.versions_by_hashes(hashes)

    return asyncio.run(go())


def test_sha256_hashes_resolve_in_one_bulk_request():
    wanted = {10100: SHA256_OF[10100], 10101: SHA256_OF[10101], 10300: SHA256_OF[10300]}
    hashes = [h.lower() for h in wanted.values()] + [UNKNOWN_SHA256]
    with CivitaiServer(SOURCE) as server:
        answers = resolve(server, hashes)
    assert {h: (a or {}).get("id") for h, a in answers.items()} == {
        SHA256_OF[10100]: 10100,
        SHA256_OF[10101]: 10101,
        SHA256_OF[10300]: 10300,
        UNKNOWN_SHA256: None,
    }
    assert answers[SHA256_OF[10100]]["model"]["type"] == "Checkpoint"
    # 4 hashes -> 1 bulk request, then one version record per version found; no per-hash GET.
    assert server.stats.requests["by-hash-ids"] == 1
    assert server.stats.requests["model-version"] == 3
    assert server.stats.requests["by-hash"] == 0


def test_without_the_bulk_endpoint_each_hash_is_one_get():
    hashes = [SHA256_OF[10100], SHA256_OF[10101], SHA256_OF[10300], UNKNOWN_SHA256]
    with CivitaiServer(SOURCE, api_2026=Api2026(bulk_by_hash=False)) as server:
        answers = resolve(server, hashes)
    assert [(answers[h] or {}).get("id") for h in hashes] == [10100, 10101, 10300, None]
    assert server.stats.requests["by-hash-ids"] == 1  # answered 405 once, never asked again
    assert server.stats.requests["by-hash"] == 4


def test_autov2_hashes_cannot_go_in_bulk_and_are_asked_one_by_one():
    autov2 = SHA256_OF[10100][:10]
    with CivitaiServer(SOURCE) as server:
        answers = resolve(server, [autov2, SHA256_OF[10300]])
    assert answers[autov2]["id"] == 10100 and answers[SHA256_OF[10300]]["id"] == 10300
    assert server.stats.requests["by-hash-ids"] == 1 and server.stats.requests["by-hash"] == 1


def test_the_bulk_endpoint_takes_sha256_only():
    with CivitaiServer(SOURCE) as server:
        bad = httpx.post(f"{server.url}/model-versions/by-hash/ids", json=["ABCDEF0123"])
        good = httpx.post(f"{server.url}/model-versions/by-hash/ids", json=[SHA256_OF[10100].lower()])
    assert bad.status_code == 400 and "SHA256" in bad.json()["error"]
    assert good.json() == [{"modelVersionId": 10100, "modelId": 101, "hash": SHA256_OF[10100]}]


FAULTS = {10100: "login", 10101: "scope", 10200: "archived", 10201: "quota", 10300: "downloads_disabled"}


@pytest.fixture(scope="module")
def refusing_server():
    api = Api2026(download_faults=dict(FAULTS))
    with CivitaiServer(SOURCE, downloads=Downloads({}), api_2026=api) as server:
        yield server


def refused(server: CivitaiServer, version_id: int, key: str | None, tmp_path) -> DownloadError:
    base = server.url.removesuffix("/api/v1")
    with pytest.raises(DownloadError) as caught:
        download(
            f"{base}/api/download/models/{version_id}", tmp_path / "part", key, attempts=1, progress=False
        )
    return caught.value


@pytest.mark.parametrize(
    ("version_id", "key", "code", "words"),
    [
        (10100, None, "login_required", "401; set CIVITAI_API_KEY (or DIFFAGENT_CIVITAI_API_KEY): login req"),
        (10101, "sk-1", "token_scope", "refused with 403; token refused for scope: the key lacks ModelsRead"),
        (10200, "sk-1", "archived", "refused with 410; archived: the model is no longer available"),
        (10201, "sk-1", "quota", "refused with 429; quota: retry after 120 s"),
        (10300, None, "downloads_disabled", "refused with 401; downloads disabled"),
        (EARLY_BIRD * 100, "sk-1", "early_access", f"403; early access until {EARLY_ACCESS_ENDS}"),
        (EARLY_BIRD * 100 + 1, "sk-1", "no_access", "refused with 403; no access: the file is paid"),
    ],
)  # fmt: skip
def test_each_download_refusal_reads_as_one_reason(refusing_server, tmp_path, version_id, key, code, words):
    error = refused(refusing_server, version_id, key, tmp_path)
    assert words in str(error) and error.refusal is not None and error.refusal.code == code


def test_login_refusal_is_only_for_requests_without_a_key(refusing_server, tmp_path):
    error = refused(refusing_server, 10100, "sk-1", tmp_path)  # past the login: no file served here
    assert "404" in str(error) and error.refusal is None


def test_quota_without_retry_after_and_paid_access_reasons():
    assert download_refusal(429, '{"error": "slow down"}', None, True).reason == (
        "quota: retry later (Civitai gave no Retry-After)"
    )
    assert download_refusal(404, "{}", None, True) is None
    assert paid_access_refusal(None) is None
    assert paid_access_refusal({"permanent": False, "endsAt": "2026-10-01"}).reason == (
        "early access until 2026-10-01"
    )
    assert paid_access_refusal({"permanent": True, "endsAt": None}).code == "paid_access"


def test_images_sort_most_reactions_first_and_rejects_unknown_sorts():
    with CivitaiServer(SOURCE) as server:
        query = {"modelVersionId": 95000, "limit": 5, "withMeta": "true"}
        top = httpx.get(f"{server.url}/images", params={**query, "sort": "Most Reactions"}).json()["items"]
        bad = httpx.get(f"{server.url}/images", params={**query, "sort": "Most Liked"})
    likes = [image["stats"]["likeCount"] for image in top]
    assert likes == [135, 132, 129, 126, 123]  # 3 * (45 - i) for the first five images made
    assert bad.status_code == 400 and "Most Reactions" in bad.json()["error"]
