"""One request to its answers (and exports): shared by POST /v1/select and the page."""

from __future__ import annotations

import time
from typing import Any

from diffagent.agent.selector import SELECTORS, default_selector
from diffagent.exports import FORMATS, export, export_inputs
from diffagent.serve.batching import Job, MicroBatcher
from diffagent.serve.hotswap import Serving
from diffagent.serve.requests import SelectRequest, SelectResponse


class Refused(Exception):
    """A request the server will not answer: `status` 4xx (the caller's fault) or 500 (ours)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def available_selectors(agent: Any) -> list[str]:
    return list(SELECTORS) if agent.backend is not None else ["retrieval"]


def exports_for(format: str, batched: Any, request: SelectRequest) -> list[str] | None:
    if format == "json":
        return None
    return [
        export(
            format,
            export_inputs(a.api, batched.catalog, request.prompt, request.negative_prompt, request.seed),
        )
        for a in batched.answers
        if a.api is not None
    ]


async def answer(
    serving: Serving, batcher: MicroBatcher, request: SelectRequest, format: str = "json"
) -> tuple[SelectResponse, Any]:
    """The response, and the catalog that answered it (for look-ups the response does not carry)."""
    started = time.perf_counter()
    if format not in FORMATS:
        raise Refused(422, f"unknown format {format!r}; expected one of {FORMATS}")
    selector = request.selector or default_selector(serving.agent)
    if selector not in available_selectors(serving.agent):
        raise Refused(422, f"selector {selector!r} needs an agent; this server has retrieval only")
    job = Job(request.prompt, request.negative_prompt, selector, request.top_k)
    try:
        batched = await batcher.submit(job)
    except Exception as error:  # noqa: BLE001 - the batch failed; this request gets a JSON 500
        raise Refused(500, f"selection failed: {type(error).__name__}: {error}") from error
    try:
        exports = exports_for(format, batched, request)
    except ValueError as error:  # e.g. a catalog without file names cannot be exported
        raise Refused(422, f"cannot export as {format}: {error}") from error
    response = SelectResponse(
        answers=batched.answers,
        selector=selector,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        exports=exports,
    )
    return response, batched.catalog
