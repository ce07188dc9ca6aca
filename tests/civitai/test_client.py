"""The Civitai client against the local server: retries, challenge pages, keys, by-hash cache."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from diffagent.civitai.client import CivitaiClient, CivitaiError, RetryPolicy
from diffagent.civitai.local_server import CivitaiServer, Faults
from diffagent.civitai.source import CivitaiSource

FAST = RetryPolicy(max_attempts=6, backoff_base=0.01, backoff_max=0.05)


def run(coroutine):
    return asyncio.run(coroutine)


def test_key_goes_in_a_bearer_header_and_nowhere_else(caplog):
    caplog.set_level(logging.DEBUG)
    faults = Faults(server_error=0.5, seed=1)
    with CivitaiServer(CivitaiSource.sample(), faults) as server:

        async def go():
            async with CivitaiClient(server.url, "sk-secret-777", retry=FAST) as client:
                page = await client.models_page(None, types=["LORA"], base_models=["SD 1.5"], limit=3)
                return client, page

        client, page = run(go())
    assert len(page.items) == 3 and page.metadata.next_cursor
    assert (
        server.stats.authorized == sum(server.stats.requests.values()) + server.stats.faults["server_error"]
    )
    assert "sk-secret-777" not in repr(client) and "sk-secret-777" not in caplog.text


def test_retry_after_is_honoured():
    faults = Faults(rate_limit_retry_after=1.0, max_consecutive=1)
    with CivitaiServer(CivitaiSource.sample(), faults) as server:

        async def go():
            async with CivitaiClient(server.url, retry=RetryPolicy(backoff_base=0.01)) as client:
                started = time.monotonic()
                await client.model_version(10100)
                return time.monotonic() - started

        elapsed = run(go())
    assert elapsed >= 0.95  # waited the server's Retry-After: 1, not the 0.01 s backoff


def test_challenge_pages_and_timeouts_are_retried():
    faults = Faults(challenge=0.5, slow=0.4, slow_seconds=1.0, seed=2)
    with CivitaiServer(CivitaiSource.sample(), faults) as server:

        async def go():
            async with CivitaiClient(server.url, timeout=0.3, retry=FAST) as client:
                return [await client.model_version(v) for v in (10100, 10200, 10300, 10400)], client.retries

        versions, retries = run(go())
    assert [v["id"] for v in versions] == [10100, 10200, 10300, 10400]
    assert server.stats.faults["challenge"] > 0 and server.stats.faults["slow"] > 0
    assert retries >= server.stats.faults["challenge"]


def test_out_of_retries_names_the_url():
    with CivitaiServer(CivitaiSource.sample(), Faults(server_error=1.0, max_consecutive=100)) as server:

        async def go():
            async with CivitaiClient(
                server.url, retry=RetryPolicy(max_attempts=2, backoff_base=0.01)
            ) as client:
                await client.model_version(10100)

        with pytest.raises(CivitaiError, match="model-versions/10100.*status 500"):
            run(go())


def test_by_hash_is_cached_and_404_is_none():
    with CivitaiServer(CivitaiSource.sample()) as server:

        async def go():
            async with CivitaiClient(server.url, retry=FAST) as client:
                source = CivitaiSource.sample()
                known = source.models[0]["modelVersions"][0]["files"][0]["hashes"]["AutoV2"]
                answers = await asyncio.gather(*(client.version_by_hash(known.lower()) for _ in range(5)))
                missing = await client.version_by_hash("deadbeef00")
                return answers, missing

        answers, missing = run(go())
    assert all(a["id"] == 10100 for a in answers) and missing is None
    assert server.stats.requests["by-hash"] == 2


def test_server_speaks_todays_shapes():
    with CivitaiServer(CivitaiSource.sample()) as server:

        async def go():
            async with CivitaiClient(server.url, retry=FAST) as client:
                await client.get_json("/models", {"page": 20, "limit": 100})

        with pytest.raises(CivitaiError, match="too many pages"):
            run(go())
        assert server.stats.requests["models"] == 1  # not retried: cursors are the fix

        async def shapes():
            async with CivitaiClient(server.url, retry=FAST) as client:
                page = await client.models_page(None, types=["Checkpoint"], base_models=["SD 1.5"], limit=2)
                without = await client.get_json("/images", {"modelVersionId": 10100})
                with_meta = await client.images_page(10100, None, limit=5)
                return page.items[0]["modelVersions"][0]["images"], without, with_meta

        nested, without, with_meta = run(shapes())
    assert len(nested) <= 10 and all("meta" not in image and "hasMeta" in image for image in nested)
    assert all(item["meta"] is None for item in without["items"])
    assert len(with_meta.items) == 5 and with_meta.metadata.next_cursor
    assert any(item["meta"] for item in with_meta.items)
