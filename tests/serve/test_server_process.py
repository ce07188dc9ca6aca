"""A real `diffagent serve --catalog DIR` (no agent) on loopback: the issue's acceptance battery,
clients that vanish mid-request, and SIGTERM draining what is in flight.

Set DIFFAGENT_SERVE_DABENCH to a built DABench folder to run the battery on it instead of the
small test catalog.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
from pathlib import Path

import httpx
import pytest

from tests.serve.servers import serve_process

PROMPTS = ["a castle at dawn", "pixel art knight", "anime girl, pastel", "neon city in the rain"]
BAD = [
    (b'{"prompt": ""}', "empty"),
    (b'{"prompt": "   \\t  "}', "whitespace"),
    (json.dumps({"prompt": "x" * 5000}).encode(), "5000 characters"),
    (json.dumps({"prompt": "a\x07cat"}).encode(), "control character"),
    (b'{"prompt": 5}', "valid string"),
    (b'{"prompt": "a cat", "top_k": "two"}', "valid integer"),
    (b'{"prompt": "a cat", "stream": true}', "unknown field 'stream'"),
    (b'{"prompt": "a cat", "top_k": 0}', "greater than or equal to 1"),
    (b'{"prompt": "a cat", "top_k": 100000}', "less than or equal to 20"),
    (b'{"prompt": "a cat"', "not valid JSON"),
    (b"prompt=a+cat", "not valid JSON"),
    (json.dumps({"prompt": "x" * (10 * 1024 * 1024)}).encode(), "over the limit"),
]


@pytest.fixture(scope="module")
def catalog(preview_dabench) -> Path:
    chosen = os.environ.get("DIFFAGENT_SERVE_DABENCH")
    return Path(chosen) if chosen else preview_dabench


@pytest.fixture(scope="module")
def server(catalog, embeddings_cache, tmp_path_factory):
    with serve_process(catalog, tmp_path_factory.mktemp("serve") / "serve.log") as (url, process):
        yield url, process


async def _good_requests(url: str, count: int, concurrency: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> httpx.Response:
            async with gate:
                return await client.post("/v1/select", json={"prompt": f"{PROMPTS[index % 4]} #{index}"})

        return await asyncio.gather(*(one(i) for i in range(count)))


def test_acceptance_battery(server):
    url, _ = server
    responses = asyncio.run(_good_requests(url, 1000, 32))
    assert [r.status_code for r in responses] == [200] * 1000
    assert all(r.json()["selector"] == "retrieval" and r.json()["answers"][0]["api"] for r in responses)
    for body, message in BAD:
        response = httpx.post(
            f"{url}/v1/select", content=body, headers={"content-type": "application/json"}, timeout=60
        )
        assert 400 <= response.status_code < 500, (body[:60], response.status_code, response.text[:200])
        assert message in response.json()["detail"], (body[:60], response.text[:300])
    metrics = httpx.get(f"{url}/metrics", timeout=60).text
    assert 'status="5' not in metrics
    assert httpx.get(f"{url}/health", timeout=60).status_code == 200


def _vanish(url: str, body: bytes, send_all: bool) -> None:
    """A client that sends a request (or half of one) and closes the socket without reading."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = f"POST /v1/select HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
        sock.sendall(body if send_all else body[: len(body) // 2])


def test_vanishing_clients_do_not_break_their_batch_mates(server):
    url, _ = server
    body = json.dumps({"prompt": "a castle at dawn"}).encode()
    vanishers = [threading.Thread(target=_vanish, args=(url, body, i % 2 == 0)) for i in range(16)]
    for thread in vanishers:
        thread.start()
    responses = asyncio.run(_good_requests(url, 64, 16))
    for thread in vanishers:
        thread.join()
    assert [r.status_code for r in responses] == [200] * 64
    assert httpx.get(f"{url}/health", timeout=60).status_code == 200


def test_sigterm_drains_requests_in_flight(catalog, embeddings_cache, tmp_path):
    # A long batch window holds the request in the batcher while SIGTERM arrives.
    with serve_process(catalog, tmp_path / "serve.log", "--batch-window-ms", "3000") as (url, process):
        result: dict = {}

        def ask() -> None:
            result["response"] = httpx.post(f"{url}/v1/select", json={"prompt": "pixel art"}, timeout=60)

        thread = threading.Thread(target=ask)
        thread.start()
        while httpx.get(f"{url}/health", timeout=60).json()["in_flight"] < 2:  # this health request and `ask`
            assert thread.is_alive()
        process.send_signal(signal.SIGTERM)
        thread.join(timeout=60)
        # uvicorn drains, shuts down, then re-raises the signal it caught: the exit is -SIGTERM.
        assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert "Finished server process" in (tmp_path / "serve.log").read_text()
    assert result["response"].status_code == 200
    assert result["response"].json()["answers"][0]["api"]["model"]
