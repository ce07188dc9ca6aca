"""A DABench with preview images, a retrieval-only agent, and a real `diffagent serve` process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.dabench import CATALOG_SCHEMA
from tests.agent.conftest import agent, agent_dir, dabench, embeddings_cache, tiny_llm, write_dabench  # noqa: F401
from tests.integration.processes import REPO, executable, free_port, start, stop, wait_until_answers


def preview(version_id: int) -> str:
    """A small SVG as a data URL: a real image the browser renders without any network."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='90' height='120'>"
        f"<rect width='90' height='120' fill='#{version_id * 2654435761 % 0xFFFFFF:06x}'/></svg>"
    )
    return "data:image/svg+xml," + quote(svg)


def write_preview_dabench(folder: Path) -> Path:
    """The agent tests' DABench, with previews on every entry but the last (which shows none)."""
    write_dabench(folder)
    rows = pq.read_table(folder / "catalog.parquet").to_pylist()
    for row in rows[:-1]:
        row["preview_url"] = preview(row["version_id"])
    pq.write_table(pa.Table.from_pylist(rows, schema=CATALOG_SCHEMA), folder / "catalog.parquet")
    return folder


@pytest.fixture(scope="session")
def preview_dabench(tmp_path_factory) -> Path:
    return write_preview_dabench(tmp_path_factory.mktemp("preview-dabench"))


@pytest.fixture(scope="session")
def retrieval_agent(preview_dabench, embeddings_cache):  # noqa: F811
    from diffagent.agent import load_agent

    return load_agent(None, preview_dabench)


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
    import threading
    import time

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
