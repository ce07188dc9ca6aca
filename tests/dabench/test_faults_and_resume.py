"""Faults and kills must not change what a build produces."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from diffagent.civitai.local_server import CivitaiServer, Faults
from diffagent.civitai.source import CivitaiSource
from diffagent.storage import ArtifactStore
from tests.dabench.conftest import build
from tests.dabench.contract import check_contract, pairs_signature


def test_faults_do_not_change_the_pairs(sample_build, tmp_path):
    clean_out, _ = sample_build
    faults = Faults.mixed(rate=0.35, seed=3, slow_seconds=1.5)
    with CivitaiServer(CivitaiSource.sample(), faults) as server:
        results = build(ArtifactStore(str(tmp_path)), server.url, timeout=0.5)
    injected = server.stats.faults
    assert {
        "rate_limit",
        "rate_limit_retry_after",
        "unavailable",
        "server_error",
        "challenge",
        "slow",
    } <= set(injected)
    assert results["crawl"]["counts"]["requests_retried"] >= sum(injected.values()) - injected["slow"]
    check_contract(tmp_path)
    assert pairs_signature(tmp_path) == pairs_signature(clean_out)


CRAWL_SCRIPT = """
import sys
from diffagent.dabench import stages
from diffagent.dabench.crawl import CrawlParams
from diffagent.storage import ArtifactStore
stages.run_crawl(ArtifactStore(sys.argv[2]), sys.argv[1], CrawlParams(models_page_size=4, images_page_size=3),
                 concurrency=1, show_progress=False)
"""


def test_sigkill_mid_crawl_then_rerun_gives_the_same_pairs(sample_build, tmp_path):
    from diffagent.dabench.crawl import CrawlParams
    from tests.dabench.conftest import FAST_RETRY

    clean_out, _ = sample_build
    reference = tmp_path / "reference"
    out = tmp_path / "killed"
    # Slow answers so the crawl is surely mid-way when killed.
    with CivitaiServer(CivitaiSource.sample(), latency=0.01) as server:
        small_pages = CrawlParams(models_page_size=4, images_page_size=3)
        build(ArtifactStore(str(reference)), server.url, params=small_pages)
        full_requests = sum(server.stats.requests.values())

        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        process = subprocess.Popen([sys.executable, "-c", CRAWL_SCRIPT, server.url, str(out)], env=env)
        state_file = out / "raw" / "state.json"
        deadline = time.time() + 60
        while time.time() < deadline:
            if state_file.exists():
                state = json.loads(state_file.read_text())
                if state["models_pages"] >= 3:
                    break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        state = json.loads(state_file.read_text())
        assert not state["models_finished"], "the crawl finished before it could be killed"

        before_rerun = sum(server.stats.requests.values())
        build(ArtifactStore(str(out)), server.url, params=small_pages, retry=FAST_RETRY)
        rerun_requests = sum(server.stats.requests.values()) - before_rerun
    assert rerun_requests < full_requests  # resumed, not started over
    check_contract(out)
    assert pairs_signature(out) == pairs_signature(reference)
