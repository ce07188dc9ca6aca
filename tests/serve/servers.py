"""Real servers for the serve, web and agent tests: a `diffagent serve` process or an app in a thread."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.integration.processes import REPO, executable, free_port, start, stop, wait_until_answers


@contextlib.contextmanager
def serve_process(catalog: Path, log: Path, *args: str) -> Iterator[tuple[str, object]]:
    """`diffagent serve --catalog CATALOG ARGS` on a free loopback port: (base URL, process)."""
    port = free_port()
    command = [executable("diffagent"), "serve", "--catalog", str(catalog), "--port", str(port), *args]
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "TOKENIZERS_PARALLELISM": "false"}
    process = start(command, env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{url}/health", process, log, timeout_s=120)
        yield url, process
    finally:
        stop(process)


@contextlib.contextmanager
def running_app(app) -> Iterator[str]:
    """`app` under a real uvicorn server on a free loopback port, in a thread: yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(400):
            if server.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
