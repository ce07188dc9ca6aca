"""Issue 13's acceptance: `diffagent train sfta --profile tiny --work-pool P` against a real
Prefect server and process worker on loopback. The rollout batches run as one `rrhf-rollout`
run per group of `--jobs-per-run` batches (not one per batch), the parent waits with Prefect's
own wait, and rollouts.parquet holds the rewards the in-process path computes."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from diffagent.rrhf.plan import ceil_div
from tests.integration.conftest import PrefectStack, prefect_stack  # noqa: F401
from tests.integration.processes import REPO, executable, run, start, stop, tail
from tests.integration.test_prefect_deployment import api
from tests.rrhf.conftest import write_dabench

pytestmark = pytest.mark.integration
POOL = "fleet-test"


IN_PROCESS = """
import sys
from diffagent.rrhf.dispatch import dispatch_rollouts
from diffagent.rrhf.rollout import collect_parts, plan_batches
from diffagent.rrhf.rollout_models import RolloutModelsSpec
from diffagent.rrhf.stages import read_candidates
items = read_candidates("{out}/candidates.parquet")
spec = RolloutModelsSpec.for_profile("tiny", "{data}", "{cache}")
jobs, _ = plan_batches(items, "{parts}", batch_size=2, k=2)
assert dispatch_rollouts(jobs, spec, k=2)["runs"] == 1
collect_parts([job.out for job in jobs], sys.argv[1])
"""


def rewards_by_response(table) -> dict[tuple[str, int], float]:
    return {(r["prompt_id"], r["response_index"]): r["reward"] for r in table.to_pylist()}


@pytest.mark.timeout(2400)  # a whole tiny training run through a worker, on a shared CPU
def test_train_sfta_on_a_work_pool_runs_one_run_per_group(prefect_stack: PrefectStack, tmp_path):  # noqa: F811
    prefect, env = executable("prefect"), prefect_stack.env
    run([prefect, "work-pool", "create", POOL, "--type", "process", "--overwrite"], env, 60)
    run(
        [prefect, "--no-prompt", "deploy", "flows/rrhf_rollout.py:rrhf_rollout",
         "--name", f"rrhf-rollout-{POOL}", "--pool", POOL],
        env,
        120,
    )  # fmt: skip
    data, out = write_dabench(tmp_path / "data"), tmp_path / "run"
    command = [executable("diffagent"), "train", "sfta", "--data", str(data), "--out", str(out)]
    command += ["--profile", "tiny", "--work-pool", POOL, "--jobs-per-run", "8"]
    log = prefect_stack.logs / "fleet-worker.log"
    worker = start([prefect, "worker", "start", "--pool", POOL], env, log)
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    finally:
        stop(worker)
    assert done.returncode == 0, f"{done.stderr[-3000:]}\n{tail(log)}"
    printed = json.loads(done.stdout[done.stdout.rindex("\n{\n") :])

    counts = printed["rollouts"]["counts"]
    batches = counts["batches"]
    assert batches == 2  # 3 rrhf prompts, 2 a batch
    flow_runs = api(prefect_stack, "/flow_runs/filter", {"flows": {"name": {"any_": ["rrhf-rollout"]}}})
    assert len(flow_runs) == counts["runs"] == ceil_div(batches, 8) == 1  # not one per batch
    assert all(r["state"]["type"] == "COMPLETED" for r in flow_runs)
    assert counts["model_set_builds"] == 1 and counts["scorer_loads"] == 3
    assert printed["plan"]["batches"] == batches and printed["plan"]["runs"] == 1

    # The in-process path over the same candidates, with a render cache of its own, in a
    # process like the worker's (torch's default thread count: float sums depend on it).
    here = tmp_path / "here.parquet"
    script = IN_PROCESS.format(out=out, data=data, cache=tmp_path / "here-cache", parts=tmp_path / "here")
    done = subprocess.run([sys.executable, "-c", script, str(here)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    pooled = pq.read_table(out / "rollouts.parquet")
    want = rewards_by_response(pq.read_table(here))
    assert pooled.num_rows == len(want) > 0
    assert rewards_by_response(pooled) == pytest.approx(want)
