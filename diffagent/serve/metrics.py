"""Prometheus metrics of one app (its own registry, so several apps in one process stay apart)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "diffagent_http_requests",
            "HTTP requests answered, by route and status code.",
            ("route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "diffagent_http_request_duration_seconds",
            "Time from a request's arrival to its response, by route.",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "diffagent_http_requests_in_flight", "Requests being answered now.", registry=self.registry
        )
        self.batch_size = Histogram(
            "diffagent_batch_size",
            "Instructions per batched Agent.select call.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.swaps = Counter(
            "diffagent_catalog_swaps",
            "Catalog hot swaps, by outcome (swapped or failed).",
            ("outcome",),
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts every response (refusals included) by route template and status, and times it."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        self.metrics.in_flight.inc()

        async def send_and_record(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(name, str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - started)
