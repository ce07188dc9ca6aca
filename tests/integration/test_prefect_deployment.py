"""The Prefect deployment path end to end: pools, `prefect deploy` from prefect.yaml,
`prefect deployment run` and a process worker, against a real server on loopback."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA
from tests.integration.conftest import PrefectStack
from tests.integration.processes import REPO, executable, run, start, stop, tail

pytestmark = pytest.mark.integration

DEMO = "dabench-build/demo"
SPLITS = ("sft", "rrhf", "eval")


def api(stack: PrefectStack, path: str, body: dict[str, Any] | None = None) -> Any:
    """GET (or POST `body` to) the server's REST API."""
    request = urllib.request.Request(
        f"{stack.api_url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def deployments_by_name(stack: PrefectStack) -> dict[str, dict[str, Any]]:
    flows = {flow["id"]: flow["name"] for flow in api(stack, "/flows/filter", {})}
    return {f"{flows[d['flow_id']]}/{d['name']}": d for d in api(stack, "/deployments/filter", {})}


def test_demo_deployment_runs_through_a_worker(prefect_stack: PrefectStack, civitai_url: str, tmp_path):
    """Deploy dabench-build/demo as prefect.yaml declares it, run it with the test's Civitai port
    and output folder as run parameters, let a `--run-once` process worker execute it, and check
    the DABench it wrote."""
    prefect, env = executable("prefect"), prefect_stack.env
    run([prefect, "work-pool", "create", "cpu", "--type", "process", "--overwrite"], env, 60)
    run([prefect, "--no-prompt", "deploy", "--name", DEMO], env, 120)

    deployment = deployments_by_name(prefect_stack)[DEMO]
    assert deployment["work_pool_name"] == "cpu"
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
    ]
    assert deployment["parameters"]["config"]["civitai_url"] == "http://127.0.0.1:8787/api/v1"

    out = tmp_path / "dabench"
    params = json.dumps({"config": {"civitai_url": civitai_url, "out": str(out), "show_progress": False}})
    created = run([prefect, "deployment", "run", DEMO, "--params", params], env, 60)
    match = re.search(r"UUID: ([0-9a-f-]{36})", created)
    assert match, created
    flow_run_id = match.group(1)

    log = prefect_stack.logs / "worker.log"
    worker = start([prefect, "worker", "start", "--pool", "cpu", "--run-once"], env, log)
    try:
        worker.wait(timeout=150)
    finally:
        stop(worker)
    state = api(prefect_stack, f"/flow_runs/{flow_run_id}")["state"]
    assert state["type"] == "COMPLETED", f"{state}\n{tail(log)}"

    latest = json.loads((out / "latest.json").read_text())
    instructions = pq.read_table(out / "instructions.parquet")
    assert pq.read_schema(out / "catalog.parquet").names == CATALOG_SCHEMA.names
    assert instructions.schema.names == INSTRUCTION_SCHEMA.names
    assert pq.read_table(out / "catalog.parquet").num_rows > 0
    splits = {name: pq.read_table(out / "splits" / f"{name}.parquet").num_rows for name in SPLITS}
    assert min(splits.values()) > 0
    assert sum(splits.values()) == instructions.num_rows == latest["counts"]["instructions"]
    assert (out / latest["path"] / "instructions.parquet").exists()


def test_every_deployment_deploys(prefect_stack: PrefectStack):
    """deployments/create_pools_and_deploy.sh creates both pools (twice: it is idempotent) with
    the docker GPU template for `cuda`, and deploys every deployment of prefect.yaml."""
    env = {**prefect_stack.env, "BIN": str(Path(executable("prefect")).parent), "CUDA_POOL_TYPE": "docker"}
    script = ["bash", "deployments/create_pools_and_deploy.sh"]
    run([*script, DEMO], env, 180)
    run(script, env, 300)

    pools = {pool["name"]: pool for pool in api(prefect_stack, "/work_pools/filter", {})}
    assert pools["cpu"]["type"] == "process" and pools["cuda"]["type"] == "docker"
    gpu = pools["cuda"]["base_job_template"]["variables"]["properties"]["container_create_kwargs"]
    assert gpu["default"]["device_requests"] == [{"driver": "nvidia", "count": 1, "capabilities": [["gpu"]]}]

    deployments = deployments_by_name(prefect_stack)
    assert set(deployments) == {
        "dabench-build/civitai",
        "dabench-build/recrawl-daily",
        "dabench-build/demo",
        "sftA-train/default",
        "sftA-train/demo",
        "rrhf-rollout/rrhf-rollout-cuda",
        "sfta-stage/sfta-stage-cuda",
        "evaluate/default",
        "evaluate/demo",
    }
    recrawl = deployments["dabench-build/recrawl-daily"]
    assert recrawl["parameters"]["config"]["incremental"] is True
    assert [s["schedule"]["cron"] for s in recrawl["schedules"]] == ["17 3 * * *"]
    # The sftA-train parent waits for its rollout runs on the `cpu` pool, holding no GPU slot.
    assert deployments["sftA-train/default"]["work_pool_name"] == "cpu"
    # Its GPU stages and rollout batches run on `cuda`, as child runs it waits for.
    on_cuda = ("sfta-stage/sfta-stage-cuda", "rrhf-rollout/rrhf-rollout-cuda", "evaluate/default")
    for name in on_cuda:
        assert deployments[name]["work_pool_name"] == "cuda"
    for name in on_cuda:
        assert deployments[name]["pull_steps"][0]["prefect.deployments.steps.set_working_directory"] == {
            "directory": "/opt/diffagent"
        }
    # The parent runs on the (process) cpu pool, from the checkout that deployed.
    parent = deployments["sftA-train/default"]
    pull = parent["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]
    assert pull == {"directory": str(REPO)}
    assert parent["parameters"]["config"]["work_pool"] == "cuda"

    # A process `cuda` pool (the script's default): its workers run this checkout, not the image's.
    prefect = executable("prefect")
    run([prefect, "--no-prompt", "work-pool", "delete", "cuda"], prefect_stack.env, 60)
    run([*script, "sfta-stage/sfta-stage-cuda"], {**env, "CUDA_POOL_TYPE": "process"}, 180)
    assert {p["name"]: p["type"] for p in api(prefect_stack, "/work_pools/filter", {})}["cuda"] == "process"
    stage = deployments_by_name(prefect_stack)["sfta-stage/sfta-stage-cuda"]
    pull = stage["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]
    assert pull == {"directory": str(REPO)}


def test_kubernetes_gpu_template_is_accepted(prefect_stack: PrefectStack):
    """The server validates a base job template's placeholders against its variables."""
    template = "deployments/cuda-kubernetes.json"
    run(
        [
            executable("prefect"),
            "work-pool",
            "create",
            "cuda-k8s-check",
            "--type",
            "kubernetes",
            "--base-job-template",
            template,
            "--overwrite",
        ],
        prefect_stack.env,
        60,
    )
    pool = api(prefect_stack, "/work_pools/cuda-k8s-check")
    container = pool["base_job_template"]["job_configuration"]["job_manifest"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "{{ gpu_limit }}"
    assert pool["base_job_template"]["variables"]["properties"]["gpu_limit"]["default"] == 1
