"""`diffagent dabench build` end to end: the real CLI runs the Prefect flow (no server needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from diffagent.civitai.local_server import CivitaiServer, Faults
from diffagent.civitai.source import CivitaiSource
from tests.dabench.contract import check_contract, pairs_signature

KEY = "civitai-test-key-5f1e"


def test_cli_build_with_faults_and_a_key_leaves_no_key_behind(sample_build, tmp_path):
    clean_out, _ = sample_build
    out = tmp_path / "out"
    env = {**os.environ, "CIVITAI_API_KEY": KEY, "PREFECT_LOGGING_LEVEL": "DEBUG"}
    with CivitaiServer(CivitaiSource.sample(), Faults.mixed(0.2, seed=5, slow_seconds=1.0)) as server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "diffagent.cli",
                "dabench",
                "build",
                "--civitai-url",
                server.url,
                "--out",
                str(out),
                "--no-llm",
                "--timeout",
                "0.5",
                "--backoff-base",
                "0.02",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout[result.stdout.index("{") :])
    assert counts["split"]["instructions"] > 0
    assert server.stats.authorized > 0
    check_contract(out)
    assert pairs_signature(out) == pairs_signature(clean_out)
    assert KEY not in result.stdout + result.stderr
    for path in Path(out).rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
