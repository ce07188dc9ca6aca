"""The filter and the describer cut into shards: the merge reproduces the one-walk result, and a
build on a process pool or a Dask LocalCluster writes the very bytes the in-process build does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter

import pytest
from pydantic import SecretStr

from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.source import CivitaiSource
from diffagent.dabench import stages
from diffagent.dabench.derive import CatalogSeed, Columns, FilterParams
from diffagent.dabench.describe import LLMConfig
from diffagent.dabench.shards import FilterInputs, ShardResult, derive, merge_shards
from diffagent.storage import ArtifactStore
from diffagent.taskrunners import TaskRunnerSpec, shard_count, shard_ranges, task_runner_option
from schemas.civitai import Model, ModelVersion
from schemas.dabench import INSTRUCTION_SCHEMA, REJECT_SCHEMA
from tasks.dabench import describe_shard_task
from tests.dabench.conftest import llm_key
from tests.llm_server import ChatServer

DASK = {"kind": "dask", "processes": False, "max_workers": 2}


def record(model_id: int, version_id: int, model_type: str = "Checkpoint") -> tuple[Model, ModelVersion]:
    model = Model.model_validate({"id": model_id, "name": f"m{model_id}", "type": model_type})
    return model, ModelVersion.model_validate({"id": version_id, "name": "v1", "baseModel": "SD 1.5"})


def columns(names: list[str], rows: list[dict]) -> Columns:
    table = Columns(names)
    for row in rows:
        table.append(row)
    return table


def pair(image_id: int, version_id: int, prompt: str, base: int | None = None) -> dict:
    return {
        "image_id": image_id,
        "version_id": version_id,
        "prompt": prompt,
        "base_checkpoint_version_id": base,
    }


def reject(image_id: int | None, model_id: int, reason: str, stage: str = "metadata") -> dict:
    return {"image_id": image_id, "model_id": model_id, "stage": stage, "reason": reason}


def test_merge_keeps_the_first_shard_that_saw_an_image():
    """Shard 1 walked checkpoint 11 (images 100, 101 paired, 102 rejected; one more image was a
    repeat within the shard) and an NSFW model 3 (a model-level reject). Shard 2 walked LoRA 21:
    it saw 101 and 102 again (both duplicates now: neither row survives), paired 200 on base 31
    (a checkpoint the crawl did not return) and rejected 201. So: 3 pairs, 3 rejects, 5 images,
    1 + 2 duplicates; seeds 11 (2 samples, one distinct prompt), 21 (1) and the base 31 (0)."""
    names = list(INSTRUCTION_SCHEMA.names)
    first = ShardResult(
        columns(names, [pair(100, 11, "a cat"), pair(101, 11, "a cat")]),
        columns(
            REJECT_SCHEMA.names,
            [reject(102, 1, "missing_meta"), reject(None, 3, "nsfw_model", "availability")],
        ),
        {11: record(1, 11)},
        Counter(models=2, versions=2, duplicate_images=1),
    )
    second = ShardResult(
        columns(names, [pair(101, 21, "a cat, lora", 11), pair(200, 21, "a dog", 31)]),
        columns(
            REJECT_SCHEMA.names,
            [reject(102, 2, "invalid_size"), reject(201, 2, "unresolved_model_hash", "base_checkpoint")],
        ),
        {21: record(2, 21, "LORA"), 11: record(1, 11), 31: record(9, 31)},
        Counter(models=1, versions=1),
    )
    merged = merge_shards([first, second])
    assert merged.pairs.column("image_id") == [100, 101, 200]
    assert merged.pairs.column("version_id") == [11, 11, 21]
    assert merged.rejects.column("image_id") == [102, None, 201]
    assert merged.rejects.column("reason") == ["missing_meta", "nsfw_model", "unresolved_model_hash"]
    assert merged.counts == Counter(
        {
            "models": 3,
            "versions": 3,
            "images": 5,
            "duplicate_images": 3,
            "pairs": 3,
            "reject:metadata:missing_meta": 1,
            "reject:availability:nsfw_model": 1,
            "reject:base_checkpoint:unresolved_model_hash": 1,
        }
    )
    assert merged.seeds == {
        11: CatalogSeed(*record(1, 11), ["a cat"], 2),
        21: CatalogSeed(*record(2, 21, "LORA"), ["a dog"], 1),
        31: CatalogSeed(*record(9, 31), [], 0),
    }
    # Either shard alone is what a one-shard walk gives: nothing of it is a duplicate.
    assert merge_shards([second]).pairs.column("image_id") == [101, 200]


def test_shard_ranges_and_counts():
    assert shard_ranges(7, 3) == [(0, 2), (2, 4), (4, 7)]
    assert shard_ranges(2, 3) == [(0, 1), (1, 2)]
    assert shard_ranges(0, 3) == []
    assert shard_count(None, None) == 1 and shard_count(None, 4) == 4
    assert shard_count(TaskRunnerSpec("process", max_workers=3), None) == 3
    with pytest.raises(ValueError, match="shards must be >= 1, got 0"):
        shard_count(None, 0)
    assert task_runner_option("dask", "tcp://127.0.0.1:8786")["address"] == "tcp://127.0.0.1:8786"
    assert task_runner_option(None, None) is None
    with pytest.raises(ValueError, match="--dask-address tcp://h:1 needs --task-runner dask"):
        task_runner_option(None, "tcp://h:1")


def test_sharded_derive_is_the_sequential_derive(sample_build):
    """On the sample's raw layer, with the last version also serving the first model's images
    (a duplicate across shards): 3 shards, and one shard per model, merge to what one walk gives."""
    out, _ = sample_build
    inputs = FilterInputs.read(ArtifactStore(str(out)))
    read_images = inputs.images_of
    first_version = inputs.models[0].model_versions[0].id
    last_version = inputs.models[-1].model_versions[-1].id
    repeated = list(read_images(first_version))
    assert repeated

    def images_of(version_id: int) -> list[str]:
        return list(read_images(version_id)) + (repeated if version_id == last_version else [])

    inputs = FilterInputs(inputs.models, images_of, inputs.hash_answers)
    params = FilterParams()
    sequential = derive(inputs.models, images_of, inputs.hash_answers, params)
    assert sequential.counts["duplicate_images"] == len(repeated)
    assert any(base is not None for base in sequential.pairs.column("base_checkpoint_version_id"))
    for shards in (3, len(inputs.models)):
        ranges = shard_ranges(len(inputs.models), shards)
        merged = merge_shards([inputs.shard(start, stop, params) for start, stop in ranges])
        for name in INSTRUCTION_SCHEMA.names:
            assert merged.pairs.column(name) == sequential.pairs.column(name), (shards, name)
        for name in REJECT_SCHEMA.names:
            assert merged.rejects.column(name) == sequential.rejects.column(name), (shards, name)
        assert merged.counts == sequential.counts
        assert merged.seeds == sequential.seeds


@pytest.fixture(scope="module")
def runner_builds(tmp_path_factory):
    """The sample built with `--task-runner process --shards 3` (the CLI, in its own process) and
    on a threaded Dask LocalCluster (the flow here, so its task runs can be read back)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.utilities.asyncutils import run_coro_as_sync

    from diffagent.config.dabench import DabenchBuildConfig
    from flows.dabench_build import dabench_build

    process_out, dask_out = tmp_path_factory.mktemp("process"), tmp_path_factory.mktemp("dask")
    with CivitaiServer(CivitaiSource.sample()) as server:
        command = [sys.executable, "-m", "diffagent.cli", "dabench", "build", "--civitai-url", server.url]
        command += ["--out", str(process_out), "--no-llm", "--task-runner", "process", "--shards", "3"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        # Three filter and three describe shards ran in worker processes, which reported to the
        # build's own Prefect server (they start no temporary server of their own).
        assert done.stderr.count("Task run 'filter-shard-") == 3, done.stderr[-3000:]
        assert done.stderr.count("Task run 'describe-shard-") == 3
        assert done.stderr.count("Starting temporary server") <= 1
        config = DabenchBuildConfig(
            civitai_url=server.url, out=str(dask_out), task_runner=DASK, shards=3, show_progress=False
        )
        state = dabench_build(config, return_state=True)
        dask_results = state.result()

        async def task_run_names() -> list[str]:
            flow_runs = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
            async with get_client() as client:
                return [run.name for run in await client.read_task_runs(flow_run_filter=flow_runs)]

        names = run_coro_as_sync(task_run_names())
        rerun = dabench_build(
            DabenchBuildConfig(civitai_url=server.url, out=str(dask_out), task_runner="thread", shards=2)
        )
    return process_out, dask_out, dask_results, names, rerun


def test_every_task_runner_writes_the_in_process_bytes(sample_build, runner_builds):
    out, _ = sample_build
    process_out, dask_out, results, names, _ = runner_builds
    for name in stages.PUBLISHED:  # catalog, instructions, rejects, every split
        expected = (out / name).read_bytes()
        assert (process_out / name).read_bytes() == expected, ("process", name)
        assert (dask_out / name).read_bytes() == expected, ("dask", name)
    shard_runs = Counter(name.rsplit("-", 1)[0] for name in names if "-shard-" in name)
    assert shard_runs == {"filter-shard": 3, "describe-shard": 3}
    assert not results["filter"]["cached"] and not results["describe"]["cached"]


def test_the_runner_and_shards_are_not_in_the_stage_key(runner_builds):
    *_, rerun = runner_builds
    assert all(rerun[stage]["cached"] for stage in ("filter", "describe", "split"))
    filtered = stages.FilterStage("/x", "raw", FilterParams())
    described = stages.DescribeStage("/x", "filter", "http://llm", "m")
    for runner, shards in (
        (TaskRunnerSpec("dask", address="tcp://h:1"), 8),
        (TaskRunnerSpec("process"), None),
    ):
        assert stages.FilterStage("/x", "raw", FilterParams(), runner, shards).key() == filtered.key()
        again = stages.DescribeStage("/x", "filter", "http://llm", "m", task_runner=runner, shards=shards)
        assert again.key() == described.key()


def test_sharded_llm_descriptions_share_one_cache(sample_build, tmp_path):
    """Three describe shards on threads call the LLM once per catalog row between them (counts
    summed); the in-process describer then finds every answer in the same cache, same rows."""
    out, results = sample_build
    shutil.copytree(out, tmp_path, dirs_exist_ok=True)
    store = ArtifactStore(str(tmp_path))
    with ChatServer() as server:
        llm = LLMConfig(server.base_url, "test-model", SecretStr("llm-key-7"), concurrency=2)
        stage = stages.DescribeStage(
            str(tmp_path),
            results["filter"]["fingerprint"],
            llm.base_url,
            llm.model,
            2,
            show_progress=False,
            task_runner=TaskRunnerSpec("thread", max_workers=3),
            shards=3,
        )
        with llm_key(llm):
            sharded = stages.run_describe(stage, llm, describe_shard_task)
        catalog = store.read_bytes("catalog.parquet")
        in_process = stages.DescribeStage(
            str(tmp_path), "filter", llm.base_url, llm.model, show_progress=False
        )
        here = stages.run_describe(in_process, llm)
    assert sharded["llm_calls"] == sharded["catalog"] == server.calls and sharded["cache_hits"] == 0
    assert here["cache_hits"] == here["catalog"] and here["llm_calls"] == 0
    assert store.read_bytes("catalog.parquet") == catalog


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--dask-address", "tcp://h:1"], "--dask-address tcp://h:1 needs --task-runner dask"),
        (["--task-runner", "ray"], "unknown task runner 'ray'"),
        (["--shards", "0"], "shards=0"),
    ],
)
def test_the_cli_names_a_bad_runner_option(options, message, tmp_path):
    from typer.testing import CliRunner

    from diffagent.cli import app

    result = CliRunner().invoke(app, ["dabench", "build", "--out", str(tmp_path), "--no-llm", *options])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not any(tmp_path.iterdir())  # refused before anything ran
