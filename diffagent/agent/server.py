"""HTTP serving: `create_app(agent)` gives a FastAPI app with POST /v1/select and GET /health.

Concurrent requests are micro-batched: each request joins an asyncio queue; a worker waits up to
`batch_window_s` for more to arrive (up to `max_batch`), groups them by (selector, top_k) and makes
one batched `Agent.select` call per group in a thread, so the event loop keeps accepting requests.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field, field_validator

from diffagent.agent.selector import SELECTORS, Selection

MAX_PROMPT_CHARS = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SelectRequest(BaseModel):
    prompt: str = Field(description="The text-to-image prompt (1 to 4,000 characters).")
    negative_prompt: str = Field("", description="What the image should not show.")
    top_k: int = Field(1, ge=1, le=20, description="How many ranked answers to return.")
    selector: str = Field("llm", description=f"One of {SELECTORS}.")

    @field_validator("prompt", "negative_prompt")
    @classmethod
    def _text(cls, value: str, info: Any) -> str:
        if info.field_name == "prompt" and not value.strip():
            raise ValueError("prompt is empty or only whitespace")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(
                f"{info.field_name} has {len(value)} characters; the limit is {MAX_PROMPT_CHARS}"
            )
        bad = _CONTROL.search(value)
        if bad:
            raise ValueError(f"{info.field_name} contains control character {bad.group()!r} at {bad.start()}")
        return value

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        if value not in SELECTORS:
            raise ValueError(f"unknown selector {value!r}; expected one of {SELECTORS}")
        return value


class SelectResponse(BaseModel):
    answers: list[Selection]


class MicroBatcher:
    def __init__(self, agent: Any, batch_window_s: float = 0.005, max_batch: int = 32) -> None:
        self.agent, self.window, self.max_batch = agent, batch_window_s, max_batch
        self.queue: asyncio.Queue = asyncio.Queue()
        self.batches: list[int] = []  # sizes of the calls made, for tests and metrics

    async def submit(self, request: SelectRequest) -> list[Selection]:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((request, future))
        return await future

    async def run(self) -> None:
        while True:
            pending = [await self.queue.get()]
            deadline = asyncio.get_running_loop().time() + self.window
            while len(pending) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    pending.append(await asyncio.wait_for(self.queue.get(), timeout))
                except TimeoutError:
                    break
            groups: dict[tuple[str, int], list] = {}
            for request, future in pending:
                groups.setdefault((request.selector, request.top_k), []).append((request, future))
            for (selector, top_k), group in groups.items():
                await self._answer(selector, top_k, group)

    async def _answer(self, selector: str, top_k: int, group: list) -> None:
        instructions = [{"prompt": r.prompt, "negative_prompt": r.negative_prompt} for r, _ in group]
        self.batches.append(len(group))
        try:
            results = await asyncio.to_thread(self.agent.select, instructions, top_k=top_k, selector=selector)
        except Exception as error:  # noqa: BLE001 - handed to each waiting request, not swallowed
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), answers in zip(group, results, strict=True):
            if not future.done():
                future.set_result(answers)


def create_app(agent: Any, batch_window_s: float = 0.005, max_batch: int = 32) -> FastAPI:
    batcher = MicroBatcher(agent, batch_window_s, max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker = asyncio.create_task(batcher.run())
        yield
        worker.cancel()

    app = FastAPI(
        title="DiffAgent",
        version="0.1.0",
        lifespan=lifespan,
        description="Pick a community Stable Diffusion model and parameters for a prompt.",
    )
    app.state.batcher = batcher

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "catalog_fingerprint": agent.catalog.fingerprint,
            "catalog_size": len(agent.catalog),
            "llm": agent.backend is not None,
        }

    @app.post("/v1/select", response_model=SelectResponse)
    async def select(request: SelectRequest) -> SelectResponse:
        if request.selector != "retrieval" and agent.backend is None:
            raise HTTPException(
                422, f"selector {request.selector!r} needs an agent; this server has retrieval only"
            )
        return SelectResponse(answers=await batcher.submit(request))

    return app
