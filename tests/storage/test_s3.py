"""Artifacts on an S3-compatible server (moto in server mode on 127.0.0.1), as remote workers share them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.source import CivitaiSource
from diffagent.cli import app
from diffagent.storage import ArtifactStore
from tests.dabench.conftest import build

pytest.importorskip("s3fs")
pytest.importorskip("moto")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()
        s3fs.S3FileSystem().mkdir("dabench-test")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def s3_dabench(s3_endpoint):
    """DABench built from the bundled Civitai sample straight to s3:// (records and results too)."""
    store = ArtifactStore("s3://dabench-test/run1")
    with CivitaiServer(CivitaiSource.sample()) as server:
        results = build(store, server.url)
    return store, results


def test_build_writes_and_rereads_artifacts_on_s3(s3_dabench, sample_build):
    clean_out, _ = sample_build
    store, results = s3_dabench
    with CivitaiServer(CivitaiSource.sample()) as server:
        again = build(store, server.url)
    assert all(again[stage]["cached"] for stage in ("filter", "describe", "split"))
    assert store.exists("catalog.parquet") and store.exists("splits/eval.parquet")
    assert store.exists("work/results") and store.exists("work/split.json")
    remote = (
        store.read_table("instructions.parquet").to_pandas().sort_values("image_id").reset_index(drop=True)
    )
    local = pd.read_parquet(clean_out / "instructions.parquet").sort_values("image_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(remote, local)
    assert results["split"]["counts"]["instructions"] == len(local)
    assert store.read_json("latest.json")["version"] == "v0001"


def test_dabench_build_cli_writes_to_s3(s3_endpoint):
    """`diffagent dabench build --out s3://...` on the bundled sample's server."""
    out = ArtifactStore("s3://dabench-test/cli-build")
    with CivitaiServer(CivitaiSource.sample()) as server:
        command = ["dabench", "build", "--civitai-url", server.url, "--out", out.root_url, "--no-llm"]
        result = CliRunner().invoke(app, [*command, "--max-models", "6"])
    assert result.exit_code == 0, result.output
    assert out.exists("catalog.parquet") and out.exists("splits/sft.parquet")
    assert json.loads(result.stdout[result.stdout.index("{") :])["split"]["instructions"] > 0


def test_the_catalog_loads_from_s3_as_from_disk(s3_endpoint, tmp_path):
    """`agent.catalog.load_catalog` takes a DABench URL: the same entries, fingerprint and sample
    settings as the local folder; a catalog.parquet URL works too; a missing one is named."""
    import s3fs

    from diffagent.catalog import load_catalog
    from tests.rrhf.conftest import write_dabench

    local = write_dabench(tmp_path / "dabench")
    s3fs.S3FileSystem().put(str(local), "dabench-test/catalog-run", recursive=True)
    remote = load_catalog("s3://dabench-test/catalog-run")
    here = load_catalog(local)
    assert (remote.fingerprint, list(remote), remote.sample_settings) == (
        here.fingerprint,
        list(here),
        here.sample_settings,
    )
    assert remote.sample_settings  # read from the bucket's splits/sft.parquet
    assert remote.source == "s3://dabench-test/catalog-run/catalog.parquet"
    assert load_catalog("s3://dabench-test/catalog-run/catalog.parquet").fingerprint == here.fingerprint
    with pytest.raises(FileNotFoundError, match="s3://dabench-test/absent"):
        load_catalog("s3://dabench-test/absent")


def test_train_sfta_from_s3_into_s3(s3_dabench):
    """sftA-train with its data and its run folder on s3://: every artifact (agents, candidates,
    rollout parts, render cache, stage records and Prefect results) lands in the bucket, a rerun
    is Cached from the bucket's records, and the RRHF agent loads back from s3://."""
    from diffagent.agent.selector import load_agent
    from diffagent.rrhf.stages import local_data
    from tests.rrhf.conftest import STAGES, cached, quick_sfta_settings, train_sfta

    data, _ = s3_dabench
    out = ArtifactStore("s3://dabench-test/sfta")
    first = train_sfta(data.root_url, out.root_url, **quick_sfta_settings(k=2))
    assert cached(first) == dict.fromkeys(STAGES, False)
    rows = out.read_table("rollouts.parquet").to_pylist()
    assert rows and {len(row["image_scores"]) for row in rows} == {2}
    assert out.list("rollouts", ".parquet") and out.list("render-cache")
    assert out.exists("stages/rrhf.json") and out.list("stages/results")
    assert out.read_json("sft/manifest.json")["data"] == data.root_url
    assert out.read_json("rrhf/manifest.json")["sft_agent"] == out.url("sft")

    # The CLI takes the same URLs (its --data/--out are never made local Paths): all Cached.
    quick = ["--k", "2", "--max-prompts", "2", "--set", "sft.max_steps=8", "--set", "rrhf.max_steps=4"]
    result = CliRunner().invoke(
        app, ["train", "sfta", "--data", data.root_url, "--out", out.root_url, "--profile", "tiny", *quick]
    )
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout[result.stdout.index("{") :])
    assert cached(again) == dict.fromkeys(STAGES, True)

    # `select --agent s3://.../rrhf --catalog s3://...` (it used to turn the URL into a local path).
    command = [
        "select",
        "a cat in a garden, watercolor",
        "--agent",
        out.url("rrhf"),
        "--catalog",
        data.root_url,
    ]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["selector"] == "llm" and answer["api"]["model"]

    # `evaluate --data s3://... --agents s3://... --out s3://...` on the one tiny eval prompt.
    evaluation = ArtifactStore("s3://dabench-test/eval")
    command = ["evaluate", "--data", data.root_url, "--agents", out.root_url, "--out", evaluation.root_url]
    result = CliRunner().invoke(
        app, [*command, "--profile", "tiny", "--n", "1", "--seeds", "0", "--study-pairs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert evaluation.exists("report.md") and evaluation.exists("stages/answers.parquet")

    agent = load_agent(out.url("rrhf"), catalog=str(local_data(data.root_url)), device="cpu")
    [[selection]] = agent.select(["a cat in a garden, watercolor"])
    assert selection.api is not None and selection.api.model in agent.catalog


def test_train_retriever_reads_its_dabench_from_s3(s3_endpoint, tmp_path):
    """`train retriever` on a DABench at s3:// reads its splits from the bucket (6 models x 3
    prompts in each split of the small DABench); a missing split is named by its URL."""
    import s3fs

    from diffagent.retriever.config import RetrieverConfig
    from diffagent.retriever.train import split_rows, train_retriever
    from tests.agent.conftest import write_dabench

    local = write_dabench(tmp_path / "dabench")
    s3fs.S3FileSystem().put(str(local), "dabench-test/retriever-run", recursive=True)
    url = "s3://dabench-test/retriever-run"
    manifest = train_retriever(url, tmp_path / "retriever", config=RetrieverConfig(epochs=1, folds=0))
    assert (manifest["data"], manifest["pairs"]) == (url, {"sft": 18, "rrhf": 18})
    assert (tmp_path / "retriever").is_dir()
    # The CLI, from s3:// into s3://.
    out = "s3://dabench-test/retriever-out"
    command = ["train", "retriever", "--data", url, "--out", out, "--epochs", "1", "--folds", "0"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert ArtifactStore(out).exists("manifest.json")
    with pytest.raises(FileNotFoundError, match="no dev split at s3://dabench-test/retriever-run/splits/dev"):
        split_rows(url, "dev")


def test_a_stage_lock_on_s3_is_exclusive(s3_endpoint):
    """The stage lock on s3:// (S3's conditional put): held, a second holder's bounded wait ends in
    a TimeoutError naming the first; released, the lock is gone and can be taken again."""
    from diffagent.stagelock import store_lock

    store = ArtifactStore("s3://dabench-test/lock-run")
    with store_lock(store, "stages/locks/sft.lock") as held:
        assert store.exists("stages/locks/sft.lock")
        with (
            pytest.raises(TimeoutError, match=held["token"]),
            store_lock(store, "stages/locks/sft.lock", wait_s=0),
        ):
            pass
    assert not store.exists("stages/locks/sft.lock")
    with store_lock(store, "stages/locks/sft.lock"):
        assert store.exists("stages/locks/sft.lock")
