"""Micro-batching: concurrent requests share one `Agent.select` call.

Each request joins an asyncio queue; the worker takes every request already queued (up to
`max_batch`), waits up to `window_s` for more when the batch is not full, groups them by
(selector, top_k) and makes one batched call per group in a thread, so the event loop keeps
accepting requests. Under load the batches fill by themselves: requests queue while the previous
batch runs. The window only trades a lone request's latency for a bigger batch at light load, so
the server's default is no window. Faults stay inside their batch: an exception fails
that batch's requests only, and a request whose client went away (its future cancelled) is dropped
from the batch without touching its batch-mates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from diffagent.agent.selector import Selection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batched:
    """A request's answers and the catalog they came from (a hot swap may follow a moment later)."""

    answers: list[Selection]
    catalog: Any


@dataclass(frozen=True)
class Job:
    prompt: str
    negative_prompt: str
    selector: str
    top_k: int


class MicroBatcher:
    def __init__(
        self,
        get_agent: Callable[[], Any],
        window_s: float = 0.0,
        max_batch: int = 32,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.get_agent, self.window, self.max_batch = get_agent, window_s, max_batch
        self.on_batch = on_batch
        self.queue: asyncio.Queue[tuple[Job, asyncio.Future]] = asyncio.Queue()
        self.batches: list[int] = []  # sizes of the calls made, for tests

    async def submit(self, job: Job) -> Batched:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((job, future))
        return await future

    async def _collect(self) -> list[tuple[Job, asyncio.Future]]:
        pending = [await self.queue.get()]
        while len(pending) < self.max_batch and not self.queue.empty():
            pending.append(self.queue.get_nowait())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window
        while len(pending) < self.max_batch:
            timeout = deadline - loop.time()
            if timeout <= 0:
                break
            try:
                pending.append(await asyncio.wait_for(self.queue.get(), timeout))
            except TimeoutError:
                break
        return pending

    async def run(self) -> None:
        while True:
            pending = await self._collect()
            groups: dict[tuple[str, int], list] = {}
            for job, future in pending:
                if not future.done():  # cancelled: the client is gone, nobody waits for the answer
                    groups.setdefault((job.selector, job.top_k), []).append((job, future))
            for (selector, top_k), group in groups.items():
                await self._answer(selector, top_k, group)

    async def _answer(self, selector: str, top_k: int, group: list) -> None:
        instructions = [{"prompt": j.prompt, "negative_prompt": j.negative_prompt} for j, _ in group]
        self.batches.append(len(group))
        if self.on_batch is not None:
            self.on_batch(len(group))
        agent = self.get_agent()  # read once: a hot swap mid-batch does not mix catalogs
        try:
            results = await asyncio.to_thread(agent.select, instructions, top_k=top_k, selector=selector)
            if len(results) != len(group):
                raise RuntimeError(f"agent answered {len(results)} of {len(group)} instructions")
        except Exception as error:  # noqa: BLE001 - handed to each waiting request, not swallowed
            log.exception("a batch of %d %s requests failed", len(group), selector)
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), answers in zip(group, results, strict=True):
            if not future.done():
                future.set_result(Batched(answers, agent.catalog))
