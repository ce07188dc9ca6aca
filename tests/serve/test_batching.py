"""Micro-batching with the real retrieval agent: batching, faults kept inside their batch, and
requests whose client went away dropped without harming their batch-mates."""

from __future__ import annotations

import asyncio
import threading

from fastapi.testclient import TestClient

from diffagent.serve import create_app
from diffagent.serve.batching import Job, MicroBatcher


class FailsOnBoom:
    """The real agent, except that a batch holding a prompt with "boom" raises (fault injection)."""

    def __init__(self, agent) -> None:
        self.agent, self.catalog, self.backend = agent, agent.catalog, agent.backend
        self.manifest, self.retriever = agent.manifest, agent.retriever

    def select(self, instructions, **kwargs):
        if any("boom" in i["prompt"] for i in instructions):
            raise RuntimeError("injected fault")
        return self.agent.select(instructions, **kwargs)


def job(prompt: str, top_k: int = 1) -> Job:
    return Job(prompt, "", "retrieval", top_k)


def test_concurrent_requests_share_one_call(retrieval_agent):
    async def run():
        batcher = MicroBatcher(lambda: retrieval_agent, window_s=0.05)
        worker = asyncio.create_task(batcher.run())
        prompts = ["anime girl", "pixel art", "castle", "neon city"]
        results = await asyncio.gather(*(batcher.submit(job(p)) for p in prompts))
        worker.cancel()
        return results, batcher.batches

    results, batches = asyncio.run(run())
    assert batches == [4] and all(len(r.answers) == 1 for r in results)
    assert results[1].answers[0].api.model == "Pixel Art XL" and results[0].catalog is retrieval_agent.catalog


class HeldFirstCall:
    """The real agent, except that its first batch waits until the test releases it."""

    def __init__(self, agent) -> None:
        self.agent, self.catalog = agent, agent.catalog
        self.started, self.release, self.calls = threading.Event(), threading.Event(), 0

    def select(self, instructions, **kwargs):
        self.calls += 1
        if self.calls == 1:
            self.started.set()
            self.release.wait(timeout=30)
        return self.agent.select(instructions, **kwargs)


def test_requests_queued_behind_a_running_batch_form_the_next_one(retrieval_agent):
    """No window: a lone request goes at once, and what arrives while it runs is one batch."""
    held = HeldFirstCall(retrieval_agent)

    async def run():
        batcher = MicroBatcher(lambda: held)
        worker = asyncio.create_task(batcher.run())
        first = asyncio.create_task(batcher.submit(job("a castle")))
        await asyncio.to_thread(held.started.wait, 30)
        queued = [
            asyncio.create_task(batcher.submit(job(p))) for p in ("anime girl", "pixel art", "neon city")
        ]
        await asyncio.sleep(0.05)  # all three are in the queue before the first batch ends
        held.release.set()
        results = await asyncio.gather(first, *queued)
        worker.cancel()
        return results, batcher.batches

    results, batches = asyncio.run(run())
    assert batches == [1, 3] and results[2].answers[0].api.model == "Pixel Art XL"


def test_a_fault_fails_only_its_batch(retrieval_agent):
    async def run():
        batcher = MicroBatcher(lambda: FailsOnBoom(retrieval_agent), window_s=0.05)
        worker = asyncio.create_task(batcher.run())
        # Grouped by top_k: the boom batch (top_k 1) fails, the top_k 2 batch in the same window does not.
        outcomes = await asyncio.gather(
            batcher.submit(job("boom")),
            batcher.submit(job("a castle")),
            batcher.submit(job("pixel art", top_k=2)),
            return_exceptions=True,
        )
        after = await batcher.submit(job("a castle"))  # the worker lives on
        worker.cancel()
        return outcomes, after, batcher.batches

    outcomes, after, batches = asyncio.run(run())
    assert [type(o).__name__ for o in outcomes] == ["RuntimeError", "RuntimeError", "Batched"]
    assert len(outcomes[2].answers) == 2 and len(after.answers) == 1 and batches == [2, 1, 1]


def test_a_gone_client_does_not_break_its_batch_mates(retrieval_agent):
    async def run():
        batcher = MicroBatcher(lambda: retrieval_agent, window_s=0.2)
        worker = asyncio.create_task(batcher.run())
        gone = asyncio.create_task(batcher.submit(job("a castle")))
        stays = asyncio.create_task(batcher.submit(job("pixel art")))
        await asyncio.sleep(0.01)
        gone.cancel()  # what the server does with a request whose client disconnected
        answered = await stays
        worker.cancel()
        return gone, answered, batcher.batches

    gone, answered, batches = asyncio.run(run())
    assert gone.cancelled() and answered.answers[0].api.model == "Pixel Art XL" and batches == [1]


def test_a_failed_batch_is_a_json_500_and_the_server_keeps_serving(retrieval_agent):
    with TestClient(create_app(FailsOnBoom(retrieval_agent))) as client:
        response = client.post("/v1/select", json={"prompt": "boom"})
        assert response.status_code == 500
        assert response.json()["detail"] == "selection failed: RuntimeError: injected fault"
        assert client.post("/v1/select", json={"prompt": "a castle"}).status_code == 200
        assert 'status="500"' in client.get("/metrics").text
