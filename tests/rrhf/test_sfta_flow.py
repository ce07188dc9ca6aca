"""End to end: `diffagent train sfta --profile tiny` on a small DABench (minutes: marked slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.rrhf.conftest import write_dabench


@pytest.mark.slow
def test_train_sfta_tiny_end_to_end_and_resume(tmp_path) -> None:
    data, run = write_dabench(tmp_path / "data"), tmp_path / "run"
    # A subprocess per run: Prefect's log handlers outlive an in-process CLI runner's streams.
    command = [str(Path(sys.executable).parent / "diffagent"), "train", "sfta", "--data", str(data)]
    command += ["--out", str(run), "--profile", "tiny"]
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = pq.read_table(run / "rollouts.parquet").to_pylist()
    per_prompt: dict[str, int] = {}
    for row in rows:
        per_prompt[row["prompt_id"]] = per_prompt.get(row["prompt_id"], 0) + 1
        assert len(row["image_scores"]) == 2
    assert per_prompt and min(per_prompt.values()) >= 3
    for agent in ("sft", "rrhf"):
        assert (run / agent / "manifest.json").exists()
    losses = json.loads((run / "rrhf" / "manifest.json").read_text())["losses"]
    assert losses[-1] < losses[0]
    # A rerun finds every stage finished and trains nothing.
    before = (run / "stages" / "rrhf.json").read_text()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run / "stages" / "rrhf.json").read_text() == before
