"""`serve --catalog DIR` follows DIR/latest.json: a new version swaps in with no failed request."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx

from diffagent.agent import load_agent
from diffagent.serve import create_app
from diffagent.serve.hotswap import rebuild_agent, resolve_catalog
from tests.agent.conftest import MODELS, write_dabench
from tests.serve.servers import running_app

NEW_MODEL = ("Clay Figures", "LORA", "SD 1.5", "claymation figurine, plasticine stop motion")


def publish(folder: Path, version: str, models=MODELS) -> None:
    """What dabench.stages.publish_version leaves: the version folder first, then latest.json."""
    if models is not None:
        write_dabench(folder / "versions" / version, models)
    (folder / "latest.json").write_text(json.dumps({"version": version, "path": f"versions/{version}"}))


def test_swap_under_load_drops_nothing(tmp_path, embeddings_cache):
    publish(tmp_path, "v0001")
    folder, version = resolve_catalog(tmp_path)
    assert (folder, version) == (tmp_path / "versions" / "v0001", "v0001")
    agent = load_agent(None, folder)
    app = create_app(agent, follow=tmp_path, follow_interval_s=0.05, catalog_version=version)
    statuses: list[int] = []
    stop = threading.Event()

    def load(url: str) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not stop.is_set():
                statuses.append(client.post("/v1/select", json={"prompt": "a figurine"}).status_code)

    with running_app(app) as url:
        workers = [threading.Thread(target=load, args=(url,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        while len(statuses) < 20:
            time.sleep(0.05)
        publish(tmp_path, "v0002", [*MODELS, NEW_MODEL])
        deadline = time.monotonic() + 120
        while httpx.get(f"{url}/health", timeout=60).json()["catalog_version"] != "v0002":
            assert time.monotonic() < deadline, "v0002 was not swapped in"
            time.sleep(0.1)
        swapped_at = len(statuses)
        while len(statuses) < swapped_at + 20:
            time.sleep(0.05)
        stop.set()
        for worker in workers:
            worker.join()
        answer = httpx.post(f"{url}/v1/select", json={"prompt": "claymation plasticine figurine"}, timeout=60)
        answer = answer.json()
        assert answer["answers"][0]["api"]["model"] == "Clay Figures"
        publish(tmp_path, "v0003", None)  # latest.json names a folder that is not there
        failed = 'diffagent_catalog_swaps_total{outcome="failed"} 1.0'
        while failed not in httpx.get(f"{url}/metrics", timeout=60).text:
            assert time.monotonic() < deadline, "the broken v0003 was never tried"
            time.sleep(0.1)
        health = httpx.get(f"{url}/health", timeout=60).json()
    assert set(statuses) == {200} and len(statuses) > 40
    assert health["catalog_version"] == "v0002" and health["catalog_swaps"] == ["v0002"]
    assert health["catalog_size"] == len(MODELS) + 1


def test_an_agent_swaps_onto_a_grown_catalog(agent, agent_dir, tmp_path):
    publish(tmp_path, "v0002", [*MODELS, NEW_MODEL])
    swapped = rebuild_agent(agent, tmp_path / "versions" / "v0002", agent_dir)
    assert swapped.backend is not agent.backend and swapped.backend.model is agent.backend.model
    assert "Clay Figures" in swapped.catalog and swapped.backend.catalog is swapped.catalog
    answers = swapped.select(["claymation plasticine figurine"], selector="hybrid")
    assert answers[0][0].api.model in swapped.catalog
