"""Offline checks of the operating files: prefect.yaml against the flows' signatures, the GPU job
templates, the compose file and images, and down.sh stopping a process by its saved PID."""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.processes import REPO

PLACEHOLDER = re.compile(r"{{\s*([\w.]+)\s*}}")


def prefect_yaml() -> dict:
    return yaml.safe_load((REPO / "prefect.yaml").read_text())


def flow_parameters(entrypoint: str) -> tuple[str, list[str]]:
    """(flow name, parameter names) of `path.py:function`, read from the source without importing it."""
    path, function = entrypoint.split(":")
    tree = ast.parse((REPO / path).read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    decorator = next(
        d for d in node.decorator_list if isinstance(d, ast.Call) and getattr(d.func, "id", None) == "flow"
    )
    name = next(k.value.value for k in decorator.keywords if k.arg == "name")
    return name, [a.arg for a in node.args.args + node.args.kwonlyargs]


def test_deployments_match_the_flows_they_run() -> None:
    """Entrypoints follow flows/<name>.py:<name>, and every parameter a deployment sets is one the
    flow takes (a renamed flow parameter would otherwise fail only at run time)."""
    names = set()
    for deployment in prefect_yaml()["deployments"]:
        entrypoint = deployment["entrypoint"]
        path, function = entrypoint.split(":")
        assert path == f"flows/{function}.py", entrypoint
        flow_name, parameters = flow_parameters(entrypoint)
        unknown = set(deployment.get("parameters") or {}) - set(parameters)
        assert not unknown, f"{flow_name}/{deployment['name']} sets {unknown}, not parameters of {entrypoint}"
        names.add(f"{flow_name}/{deployment['name']}")
        assert deployment["work_pool"]["name"] in ("cpu", "cuda")
    assert {"dabench-build/civitai", "dabench-build/recrawl-daily", "sftA-train/default"} <= names
    assert {"evaluate/default", "dabench-build/demo", "sftA-train/demo", "evaluate/demo"} <= names


def test_no_secret_in_prefect_yaml() -> None:
    """Keys are named (a Secret block, an environment variable), never given."""
    for deployment in prefect_yaml()["deployments"]:
        for key, value in ((deployment.get("parameters") or {}).get("config") or {}).items():
            if "key" in key or "token" in key or "password" in key:
                assert key == "civitai_key_block" and value == "civitai-api-key"


def test_demo_deployments_use_the_embedded_default() -> None:
    by_name = {
        f"{flow_parameters(d['entrypoint'])[0]}/{d['name']}": (d.get("parameters") or {}).get("config") or {}
        for d in prefect_yaml()["deployments"]
    }
    assert by_name["dabench-build/demo"]["civitai_url"] == "http://127.0.0.1:8787/api/v1"
    assert by_name["dabench-build/demo"]["llm_base_url"] is None
    assert by_name["sftA-train/demo"]["profile"] == by_name["evaluate/demo"]["profile"] == "tiny"
    assert by_name["dabench-build/recrawl-daily"]["incremental"] is True


def job_template(name: str) -> dict:
    return json.loads((REPO / "deployments" / name).read_text())


@pytest.mark.parametrize("name", ["cuda-docker.json", "cuda-kubernetes.json"])
def test_job_template_placeholders_are_variables(name: str) -> None:
    """Each {{ placeholder }} of the job configuration is a declared variable (the rule the
    Prefect server enforces when a pool is created)."""
    template = job_template(name)
    used = set(PLACEHOLDER.findall(json.dumps(template["job_configuration"])))
    assert used <= set(template["variables"]["properties"]), used - set(template["variables"]["properties"])


def test_job_templates_request_one_gpu() -> None:
    docker = job_template("cuda-docker.json")["variables"]["properties"]
    requests = docker["container_create_kwargs"]["default"]["device_requests"]
    assert requests == [{"driver": "nvidia", "count": 1, "capabilities": [["gpu"]]}]
    kubernetes = job_template("cuda-kubernetes.json")
    container = kubernetes["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "{{ gpu_limit }}"
    assert kubernetes["variables"]["properties"]["gpu_limit"]["default"] == 1


def test_compose_runs_prefect_on_postgres_with_a_gpu_worker() -> None:
    compose = yaml.safe_load((REPO / "docker" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "deploy", "cpu-worker", "gpu-worker"}
    database_url = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert database_url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in database_url
    assert "${POSTGRES_PASSWORD" in database_url  # from the environment, never written here
    devices = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert services["gpu-worker"]["build"]["dockerfile"] == "docker/Dockerfile.cuda"
    for worker, pool in (("cpu-worker", "cpu"), ("gpu-worker", "cuda")):
        command = services[worker]["command"]
        assert command[:3] == ["prefect", "worker", "start"] and command[command.index("--pool") + 1] == pool
        assert "diffagent-runs:/opt/diffagent/runs" in services[worker]["volumes"]


@pytest.mark.parametrize("dockerfile", ["Dockerfile.cpu", "Dockerfile.cuda"])
def test_images_hold_the_checkout_where_the_pull_step_expects_it(dockerfile: str) -> None:
    """The cuda deployments' pull step reads the checkout the deploy script chose for the pool's
    type; for container pools that is the images' working directory."""
    text = (REPO / "docker" / dockerfile).read_text()
    cuda = next(d for d in prefect_yaml()["deployments"] if d["work_pool"]["name"] == "cuda")
    directory = cuda["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == "{{ $DIFFAGENT_CUDA_CHECKOUT }}"
    script = (REPO / "deployments" / "create_pools_and_deploy.sh").read_text()
    image_checkout = re.search(r"^IMAGE_CHECKOUT=(\S+)$", script, re.MULTILINE).group(1)
    assert f"WORKDIR {image_checkout}" in text
    assert "-c constraints.txt" in text
    if dockerfile == "Dockerfile.cuda":
        assert "ARG CUDA_IMAGE=nvidia/cuda:" in text


def test_down_stops_a_process_that_ignores_sigint(tmp_path: Path) -> None:
    """down.sh sends SIGINT, waits GRACE_S, then SIGKILLs the saved PID, and forgets it."""
    ignores_sigint = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"
    # `prefect` in its command line: down.sh only signals a PID whose command is the expected one.
    process = subprocess.Popen([sys.executable, "-c", ignores_sigint, "prefect"], start_new_session=True)
    try:
        (tmp_path / "pids").mkdir()
        (tmp_path / "pids" / "worker.pid").write_text(f"{process.pid}\n")
        time.sleep(0.5)  # let it install the handler
        done = subprocess.run(
            ["bash", "scripts/down.sh"],
            cwd=REPO,
            env={**os.environ, "DEMO_DIR": str(tmp_path), "GRACE_S": "1"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert process.wait(timeout=5) == -signal.SIGKILL
        assert "SIGKILL" in done.stdout and not (tmp_path / "pids" / "worker.pid").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
