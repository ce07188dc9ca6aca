"""A real Prefect server (SQLite, temporary PREFECT_HOME) and the local Civitai server, on free
loopback ports, shared by the integration tests of this folder and stopped by PID at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.processes import REPO, executable, free_port, start, stop, wait_until_answers


@dataclass
class PrefectStack:
    api_url: str
    env: dict[str, str]  # the environment of every prefect command aimed at this server
    logs: Path


@pytest.fixture(scope="module")
def prefect_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    root = tmp_path_factory.mktemp("prefect")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "DIFFAGENT_", "CIVITAI_", "OPENAI_"))
    }
    env.update(
        PREFECT_HOME=str(root / "home"),
        PREFECT_API_URL=api_url,
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{root / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",  # not needed here, and the server starts faster without it
        DO_NOT_TRACK="1",
        PWD=str(REPO),  # prefect.yaml's pull step: the checkout the worker runs the code from
        DIFFAGENT_TINY_DIR=str(root / "tiny-models"),
    )
    log = root / "server.log"
    server = start(
        [executable("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log
    )
    try:
        wait_until_answers(f"{api_url}/health", server, log, timeout_s=120)
        yield PrefectStack(api_url, env, root)
    finally:
        stop(server)


@pytest.fixture(scope="module")
def civitai_url(prefect_stack: PrefectStack) -> Iterator[str]:
    """`diffagent civitai serve` over the bundled sample: the demo's embedded default."""
    port = free_port()
    log = prefect_stack.logs / "civitai.log"
    server = start([executable("diffagent"), "civitai", "serve", "--port", str(port)], prefect_stack.env, log)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        # The first start writes the tiny models and the sample's model files before it answers.
        wait_until_answers(f"{url}/models?limit=1", server, log, timeout_s=900)
        yield url
    finally:
        stop(server)
