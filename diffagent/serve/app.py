"""`create_app(agent)`: the FastAPI app of `diffagent serve`.

  GET  /            the page (a prompt in, result cards out; diffagent.serve.page)
  POST /v1/select   answers as JSON, with ?format=a1111|comfyui|diffusers the exports too
  GET  /health      catalog fingerprint and version, selectors, agent, uptime, requests in flight
  GET  /metrics     Prometheus text format

Every refusal is JSON with a one-line `detail`; bodies over `max_body_bytes` get 413 unread.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from diffagent.exports import FORMATS
from diffagent.serve.answering import Refused, answer, available_selectors, default_selector
from diffagent.serve.batching import MicroBatcher
from diffagent.serve.hotswap import CatalogFollower, Serving
from diffagent.serve.limits import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from diffagent.serve.metrics import Metrics, MetricsMiddleware
from diffagent.serve.page import render_page
from diffagent.serve.requests import SelectRequest, SelectResponse, describe_errors


def _health(serving: Serving, started: float, metrics: Metrics) -> dict[str, Any]:
    agent = serving.agent
    described = None
    if agent.backend is not None:
        described = {
            "backend": type(agent.backend).__name__,
            "base_model": agent.manifest.get("base_model"),
            "trained_catalog_fingerprint": agent.manifest.get("catalog_fingerprint"),
        }
    return {
        "status": "ok",
        "catalog_fingerprint": agent.catalog.fingerprint,
        "catalog_size": len(agent.catalog),
        "catalog_version": serving.catalog_version,
        "catalog_swaps": serving.swaps,
        "selectors": available_selectors(agent),
        "default_selector": default_selector(agent),
        "agent": described,
        "llm": agent.backend is not None,
        "uptime_s": round(time.monotonic() - started, 3),
        "in_flight": int(metrics.registry.get_sample_value("diffagent_http_requests_in_flight") or 0),
    }


def create_app(
    agent: Any,
    batch_window_s: float = 0.0,
    max_batch: int = 32,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    follow: Path | None = None,
    follow_interval_s: float = 30.0,
    catalog_version: str | None = None,
    agent_dir: Path | None = None,
) -> FastAPI:
    """`follow`: a DABench folder whose `latest.json` to follow (hot swap); None serves one catalog."""
    serving = Serving(agent, agent_dir, catalog_version)
    metrics = Metrics()
    batcher = MicroBatcher(lambda: serving.agent, batch_window_s, max_batch, metrics.batch_size.observe)
    follower = None
    if follow is not None:
        follower = CatalogFollower(
            follow, serving, follow_interval_s, lambda outcome: metrics.swaps.labels(outcome).inc()
        )
    started = time.monotonic()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Build the retrieval index before the first request (uvicorn reports startup after this).
        await asyncio.to_thread(lambda: serving.agent.retriever)
        tasks = [asyncio.create_task(batcher.run())]
        if follower is not None:
            tasks.append(asyncio.create_task(follower.run()))
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="DiffAgent",
        version="0.1.0",
        lifespan=lifespan,
        description="Pick a community Stable Diffusion model and parameters for a prompt.",
    )
    app.state.serving, app.state.batcher, app.state.metrics, app.state.follower = (
        serving,
        batcher,
        metrics,
        follower,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: counts the 413s too

    @app.exception_handler(RequestValidationError)
    async def refused_input(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{k: e.get(k) for k in ("loc", "msg", "type")} for e in error.errors()]
        return JSONResponse({"detail": describe_errors(errors), "errors": errors}, status_code=422)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return _health(serving, started, metrics)

    @app.get("/metrics")
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.post("/v1/select", response_model=SelectResponse)
    async def select(
        request: SelectRequest, format: str = Query("json", description=f"One of {FORMATS}.")
    ) -> Any:
        try:
            response, _ = await answer(serving, batcher, request, format)
        except Refused as refusal:
            return JSONResponse({"detail": refusal.detail}, status_code=refusal.status)
        return response

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> HTMLResponse:
        html, status = await render_page(serving, batcher, dict(request.query_params))
        return HTMLResponse(html, status_code=status)

    return app
