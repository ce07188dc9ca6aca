"""A local HTTP server that speaks Civitai's REST API v1 over a `CivitaiSource`.

Used by the tests, the benchmark and `make demo` (on the bundled sample). It serves today's
shapes (nested images without `meta`, `meta` only with `withMeta=true`, opaque cursors,
by-hash look-ups, 404s) and can inject the faults a real crawl meets: 429 with and without
`Retry-After`, 503, 500 with Civitai's error body, a Cloudflare-style HTML challenge page and
slow answers. Faults are drawn from a seeded generator and never hit the same URL more than
`max_consecutive` times in a row, so a client with bounded retries always gets through.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from diffagent.civitai.api_routes import API_PREFIX, route
from diffagent.civitai.local_api_2026 import Api2026, download_refusal, post_answer
from diffagent.civitai.source import CivitaiSource

if TYPE_CHECKING:
    from diffagent.civitai.downloads import Downloads
    from diffagent.civitai.sample_files import ServedFile

CIVITAI_DOWNLOADS = "https://civitai.com/api/download/models/"
CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body><div id='challenge-running'>Checking your browser before accessing civitai.com</div></body></html>"
)


@dataclass
class Faults:
    """Probabilities of each injected fault per request (their sum must stay below 1)."""

    rate_limit: float = 0.0  # 429 without Retry-After
    rate_limit_retry_after: float = 0.0  # 429 with Retry-After: 1
    unavailable: float = 0.0  # 503 with Retry-After: 1
    server_error: float = 0.0  # 500 {"message": "An unexpected error occurred"}
    challenge: float = 0.0  # 200/403 HTML challenge page instead of JSON
    slow: float = 0.0  # answer after `slow_seconds`
    slow_seconds: float = 2.0
    seed: int = 0
    max_consecutive: int = 2

    @classmethod
    def mixed(cls, rate: float = 0.3, seed: int = 0, slow_seconds: float = 2.0) -> Faults:
        """Every fault kind, `rate` of the requests in all."""
        share = rate / 6
        return cls(share, share, share, share, share, share, slow_seconds=slow_seconds, seed=seed)

    def kinds(self) -> list[tuple[str, float]]:
        return [
            ("rate_limit", self.rate_limit),
            ("rate_limit_retry_after", self.rate_limit_retry_after),
            ("unavailable", self.unavailable),
            ("server_error", self.server_error),
            ("challenge", self.challenge),
            ("slow", self.slow),
        ]


@dataclass
class ServerStats:
    requests: Counter = field(default_factory=Counter)  # by endpoint name
    images_served: Counter = field(default_factory=Counter)  # `/images` items served, by version id
    faults: Counter = field(default_factory=Counter)  # by fault kind
    authorized: int = 0  # requests that carried a Bearer header


class CivitaiServer:
    """`with CivitaiServer(source) as server: server.url` -> "http://127.0.0.1:PORT/api/v1"."""

    def __init__(
        self,
        source: CivitaiSource,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        downloads: Downloads | None = None,
        api_2026: Api2026 | None = None,
        hub_files: Mapping[str, ServedFile] | None = None,
    ) -> None:
        """`downloads`: serve model files (`/api/download/models/{id}`) and answer with download
        URLs on this server instead of civitai.com. `hub_files`: also answer as the Hugging Face hub
        does for these `/{repo}/resolve/{revision}/{path}` paths (the architectures' companions),
        GET and HEAD, with the file's SHA256 in `X-Linked-Etag`."""
        self.source = source
        self.downloads = downloads
        self.api_2026 = api_2026 or Api2026()  # today's API switches (bulk by-hash, refusals)
        self.hub_files = dict(hub_files or {})
        self.faults = faults or Faults()
        self.latency = latency
        self.stats = ServerStats()
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self._consecutive: Counter = Counter()
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.root}{API_PREFIX}"

    @property
    def root(self) -> str:
        """The server itself: the hub endpoint of its `hub_files`."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CivitaiServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> CivitaiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def draw_fault(self, url: str) -> str | None:
        with self._lock:
            if self._consecutive[url] >= self.faults.max_consecutive:
                self._consecutive[url] = 0
                return None
            roll, edge = self._rng.random(), 0.0
            for kind, probability in self.faults.kinds():
                edge += probability
                if roll < edge:
                    self._consecutive[url] += 1
                    self.stats.faults[kind] += 1
                    return kind
            self._consecutive[url] = 0
            return None


class _Handler(BaseHTTPRequestHandler):
    server_state: CivitaiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stats instead
        return

    def do_GET(self) -> None:
        state = self.server_state
        if self.headers.get("Authorization", "").startswith("Bearer "):
            with state._lock:
                state.stats.authorized += 1
        if state.latency:
            time.sleep(state.latency)
        parsed = urlparse(self.path)
        if unquote(parsed.path) in state.hub_files:
            self._hub_file(state.hub_files[unquote(parsed.path)], head=False)
            return
        if state.downloads is not None and _is_download(parsed.path):
            self._download(parsed.path, parse_qs(parsed.query))  # faults are for the API only
            return
        fault = state.draw_fault(self.path)
        if fault == "slow":
            time.sleep(state.faults.slow_seconds)
        elif fault is not None:
            self._fault(fault)
            return
        query = parse_qs(parsed.query)
        try:
            status, body = route(state.source, parsed.path, query, state.stats)
        except ValueError as error:
            status, body = 400, {"error": str(error)}
        self._json(status, body)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = post_answer(self.server_state, urlparse(self.path).path, raw)
        if isinstance(answer, str):  # an injected fault, like the GET routes get
            self._fault(answer)
        else:
            self._json(*answer)

    def do_HEAD(self) -> None:
        path = unquote(urlparse(self.path).path)
        served = self.server_state.hub_files.get(path)
        if served is None:
            self._send(404, b"", "text/plain", {}, head=True)
            return
        self._hub_file(served, head=True)

    def _hub_file(self, served: ServedFile, head: bool) -> None:
        """A hub `resolve` answer: the LFS file's SHA256 and size in X-Linked-Etag / X-Linked-Size."""
        with self.server_state._lock:
            self.server_state.stats.requests["hub"] += 1
        headers = {"X-Linked-Etag": f'"{served.sha256}"', "X-Linked-Size": str(served.size)}
        self._file(served, headers, head)

    def _fault(self, kind: str) -> None:
        if kind == "rate_limit":
            self._json(429, {"error": "Too Many Requests"})
        elif kind == "rate_limit_retry_after":
            self._json(429, {"error": "Too Many Requests"}, {"Retry-After": "1"})
        elif kind == "unavailable":
            self._json(503, {"error": "Service Unavailable"}, {"Retry-After": "1"})
        elif kind == "server_error":
            self._json(500, {"message": "An unexpected error occurred", "error": {}})
        elif kind == "challenge":
            self._send(403, CHALLENGE_PAGE.encode(), "text/html; charset=UTF-8", {})

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        text = json.dumps(body)
        if self.server_state.downloads is not None:  # Civitai answers with its own download host
            host, port = self.server_state.httpd.server_address[:2]
            text = text.replace(CIVITAI_DOWNLOADS, f"http://{host}:{port}/api/download/models/")
        self._send(status, text.encode(), "application/json; charset=utf-8", headers or {})

    def _download(self, path: str, query: dict[str, list[str]]) -> None:
        from diffagent.civitai.downloads import DOWNLOAD_PREFIX

        downloads = self.server_state.downloads
        assert downloads is not None
        if path.startswith(DOWNLOAD_PREFIX):
            with self.server_state._lock:
                self.server_state.stats.requests["download"] += 1
            version = path[len(DOWNLOAD_PREFIX) :].strip("/")
            has_key = self.headers.get("Authorization", "").startswith("Bearer ") or bool(query.get("token"))
            version_id = int(version) if version.isdigit() else -1
            if (refused := download_refusal(self.server_state, version_id, has_key)) is not None:
                self._json(*refused)
                return
            status, headers, body = downloads.redirect(version_id, has_key)
            if body is not None:
                self._json(status, body, headers)
            else:
                self._send(status, b"", "text/plain", headers)
            return
        served = downloads.signed_file(path, query)
        if served is None:
            self._json(403, {"error": "Signature expired or invalid"})
            return
        self._file(served, {}, head=False)

    def _file(self, served: ServedFile, extra: dict[str, str], head: bool) -> None:
        """A file's bytes with its name, honouring `Range: bytes=a-[b]` (206) as Civitai's storage does."""
        from diffagent.civitai.downloads import byte_range

        data = served.path.read_bytes()
        span = byte_range(self.headers.get("Range"), len(data))
        headers = {"Content-Disposition": f'attachment; filename="{served.file_name}"', **extra}
        headers["Accept-Ranges"] = "bytes"
        if span is None:
            self._send(200, data, "application/octet-stream", headers, head)
            return
        start, end = span
        if start >= len(data):
            self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"}, head)
            return
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        self._send(206, data[start : end + 1], "application/octet-stream", headers, head)

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str], head: bool = False
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(payload)


def _is_download(path: str) -> bool:
    from diffagent.civitai.downloads import DOWNLOAD_PREFIX, SIGNED_PREFIX

    return path.startswith((DOWNLOAD_PREFIX, SIGNED_PREFIX))
