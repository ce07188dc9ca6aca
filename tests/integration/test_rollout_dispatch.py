"""RRHF rollout batches dispatched as Prefect runs to a work pool, executed by a real worker.

This is the path production takes on the `cuda` pool; here the pool is a process pool on this
CPU. `sftA-train` calls `diffagent.rrhf.dispatch.dispatch_rollouts(..., work_pool=P)`, which runs
`rrhf-rollout/rrhf-rollout-P` once per batch and waits for every run to complete.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict

import pyarrow.parquet as pq
import pytest

from diffagent.rrhf.rollout import plan_batches
from diffagent.rrhf.rollout_models import RolloutModelsSpec
from tests.integration.conftest import PrefectStack
from tests.integration.processes import REPO, executable, run, start, stop, tail
from tests.rrhf.conftest import write_dabench
from tests.rrhf.test_rollout import _items

pytestmark = pytest.mark.integration

DISPATCH = """
import json, sys
from diffagent.rrhf.dispatch import dispatch_rollouts
from diffagent.rrhf.rollout import BatchJob
from diffagent.rrhf.rollout_models import RolloutModelsSpec
jobs = [BatchJob(**job) for job in json.load(open(sys.argv[1]))]
spec = RolloutModelsSpec(**json.load(open(sys.argv[2])))
dispatch_rollouts(jobs, spec, k=1, base_seed=0, workers=0, work_pool="rollout-test", timeout_s=240)
"""


def test_rollout_batches_run_on_a_work_pool(prefect_stack: PrefectStack, tmp_path):
    prefect, env = executable("prefect"), prefect_stack.env
    run([prefect, "work-pool", "create", "rollout-test", "--type", "process", "--overwrite"], env, 60)
    run(
        [prefect, "--no-prompt", "deploy", "flows/rrhf_rollout.py:rrhf_rollout",
         "--name", "rrhf-rollout-rollout-test", "--pool", "rollout-test"],
        env,
        120,
    )  # fmt: skip
    spec = RolloutModelsSpec.for_profile(
        "tiny", str(write_dabench(tmp_path / "data")), str(tmp_path / "cache")
    )
    jobs, _ = plan_batches(_items()[:2], tmp_path / "rollouts", batch_size=1, k=1)
    (tmp_path / "jobs.json").write_text(json.dumps([asdict(job) for job in jobs]))
    (tmp_path / "spec.json").write_text(json.dumps(spec.to_json()))

    log = prefect_stack.logs / "rollout-worker.log"
    worker = start([prefect, "worker", "start", "--pool", "rollout-test"], env, log)
    try:
        done = subprocess.run(
            [sys.executable, "-c", DISPATCH, str(tmp_path / "jobs.json"), str(tmp_path / "spec.json")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        stop(worker)
    assert done.returncode == 0, f"{done.stderr[-3000:]}\n{tail(log)}"
    for job in jobs:
        rows = pq.read_table(job.out).to_pylist()
        assert rows and all(len(row["image_scores"]) == 1 for row in rows)
