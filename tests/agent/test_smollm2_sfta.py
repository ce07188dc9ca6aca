"""sftA-train with the real SmolLM2-135M-Instruct policy (tiny renderer and scorers): slow only.

The rewards of tiny scorers mean nothing; the point is that the real policy goes through diverse
beam search, reconstruction, the ranking loss and saving at its real size, and that the plan then
reports what one RRHF step of it cost.
"""

from __future__ import annotations

import json

import pytest

from tests.rrhf.conftest import STAGES, printed_records, write_dabench


@pytest.mark.slow
def test_sfta_trains_every_stage_with_the_real_policy(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from diffagent.rrhf.plan import plan_for_run

    data, run = write_dabench(tmp_path / "data"), tmp_path / "run"
    command = [str(Path(sys.executable).parent / "diffagent"), "train", "sfta", "--data", str(data)]
    command += ["--out", str(run), "--profile", "tiny", "--base-model", "smollm2-135m-instruct"]
    command += ["--max-prompts", "2", "--set", "sft.max_steps=2", "--set", "rrhf.max_steps=2"]
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = printed_records(result.stdout)
    assert all(stage in printed for stage in STAGES)
    manifest = json.loads((run / "rrhf" / "manifest.json").read_text())
    assert manifest["base_model"] == "smollm2-135m-instruct" and manifest["steps"] == 2
    # SmolLM2-135M: 134.5 M parameters (tied input and output embeddings counted once).
    assert 130e6 < manifest["policy_parameters"] < 140e6
    plan, _ = plan_for_run(str(data), str(run), k=2, batch_size=2, jobs_per_run=1)
    assert plan.policy_parameters == manifest["policy_parameters"]
    assert plan.rrhf_s_per_step > 0 and plan.rrhf_peak_memory_gb > 0.5  # fp32 weights alone: 0.54 GB
