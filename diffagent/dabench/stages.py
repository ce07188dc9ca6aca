"""The DABench stages as plain functions over an artifact store, and the stage keys they cache on.

The crawl always runs (it resumes, and an incremental recrawl asks Civitai what is new); its
result is the raw layers' fingerprint. Filter, describe and split are `diffagent.stagecache`
stages keyed by the upstream fingerprint and their settings, with records under `work/`: a rerun
whose inputs hash the same recomputes nothing, and a changed input (a new crawl page, other
thresholds, another LLM) changes every key downstream.

Filter and describe map over shards (`shards.py`; slices of the models, of the catalog seeds),
here one after another or on a task runner (`diffagent.taskrunners`); the merge gives the same
outputs for every runner and shard count, so neither is part of a stage's key. The shard tasks
are passed in (`tasks.dabench`), since diffagent never imports tasks/.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from diffagent.civitai.client import CivitaiClient, RetryPolicy
from diffagent.dabench.catalog import catalog_row, description_inputs, preview_url, unique_model_names
from diffagent.dabench.crawl import CrawlParams, crawl
from diffagent.dabench.derive import CatalogSeed, FilterParams
from diffagent.dabench.describe import Describer, DescribeReport, LLMConfig
from diffagent.dabench.raw import (
    INCREMENTS,
    crawl_finished,
    increment_names,
    merged_models,
    raw_fingerprint_parts,
)
from diffagent.dabench.shards import FilterInputs, ShardResult, merge_shards
from diffagent.dabench.split import SPLITS, incremental_assignment, split_assignment
from diffagent.stagecache import Stage, fingerprint
from diffagent.storage import ArtifactStore, rows_to_table
from diffagent.taskrunners import TaskRunnerSpec, run_shards, shard_count, shard_ranges
from schemas.civitai import Model, ModelVersion
from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA, REJECT_SCHEMA


# -- crawl --------------------------------------------------------------------------------------
def run_crawl(
    store: ArtifactStore,
    civitai_url: str,
    params: CrawlParams,
    api_key: Any = None,
    concurrency: int = 8,
    timeout: float = 30.0,
    retry: RetryPolicy | None = None,
    show_progress: bool = True,
    incremental: bool = False,
) -> dict[str, Any]:
    """Crawl (resuming if interrupted); returns counts and the raw layers' fingerprint.

    `incremental` on a finished crawl: a recrawl into a new increment, newest models first until
    a page holds nothing new, fetching images only for versions no layer has yet.
    """
    target, known = store, None
    if incremental and crawl_finished(store):
        target, params = _increment_target(store), replace(params, sort="Newest", stop_at_known=True)
        known = {m.id: {v.id for v in m.model_versions} for m in merged_models(store)}

    async def go() -> Any:
        async with CivitaiClient(civitai_url, api_key, concurrency, timeout, retry) as client:
            return await crawl(client, target, params, show_progress, known)

    report = asyncio.run(go())
    return {"fingerprint": raw_fingerprint(store), "counts": asdict(report)}


def _increment_target(store: ArtifactStore) -> ArtifactStore:
    """The unfinished increment to resume, or a new one numbered after the last."""
    names = increment_names(store)
    if names and not crawl_finished(store.child(f"{INCREMENTS}/{names[-1]}")):
        return store.child(f"{INCREMENTS}/{names[-1]}")
    return store.child(f"{INCREMENTS}/inc-{len(names) + 1:04d}")


def raw_fingerprint(store: ArtifactStore) -> str:
    return fingerprint(raw_fingerprint_parts(store))


# -- filter -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FilterStage(Stage):
    raw_fingerprint: str
    params: FilterParams
    task_runner: TaskRunnerSpec | None = None  # where the shards run (None: here)
    shards: int | None = None  # slices of the models (None: one here, one per runner worker)
    name: ClassVar[str] = "filter"
    outputs: ClassVar[tuple[str, ...]] = ("work/pairs.parquet", "work/seeds.jsonl", "rejects.parquet")
    record_dir: ClassVar[str] = "work"
    unkeyed: ClassVar[tuple[str, ...]] = ("root", "task_runner", "shards")
    # run_filter (here) and what it calls: the filters, their shards, the raw layers, model names.
    code: ClassVar[tuple[str, ...]] = (
        *(f"diffagent.dabench.{m}" for m in ("stages", "derive", "shards", "raw", "catalog")),
        *(f"diffagent.dabench.{m}" for m in ("base_checkpoint", "prompts", "quality", "samplers")),
        "diffagent.answers.validity",
    )


def run_filter(stage: FilterStage, shard_task: Any = None) -> dict[str, Any]:
    """`shard_task`: the Prefect task over `shards.filter_shard` that a task runner submits."""
    store, runner = stage.store, stage.task_runner
    # Here the raw layers are read once for every shard; a runner's shards each read their own.
    inputs = FilterInputs.read(store) if runner is None else None
    count = len(inputs.models) if inputs else len(merged_models(store))
    ranges = shard_ranges(count, shard_count(runner, stage.shards))
    parameters = [{"root": stage.root, "start": a, "stop": b, "params": stage.params} for a, b in ranges]

    def here(root: str, start: int, stop: int, params: FilterParams) -> ShardResult:
        assert inputs is not None  # read above whenever there is no runner
        return inputs.shard(start, stop, params)

    derived = merge_shards(run_shards(runner, shard_task, here, parameters))
    names = unique_model_names(derived.seeds)
    pairs = derived.pairs
    pairs.data["model"] = [names[v] for v in pairs.column("version_id")]
    pairs.data["base_checkpoint"] = [
        names[b] if b is not None else None for b in pairs.column("base_checkpoint_version_id")
    ]
    store.write_table("work/pairs.parquet", pairs.to_table(INSTRUCTION_SCHEMA))
    store.write_table("rejects.parquet", derived.rejects.to_table(REJECT_SCHEMA))
    seeds = [
        {
            "name": names[v],
            "model": s.model.model_dump(mode="json", by_alias=True, exclude={"model_versions"}),
            "version": s.version.model_dump(mode="json", by_alias=True, exclude={"images"}),
            "sample_prompts": s.sample_prompts,
            "sample_count": s.sample_count,
            "preview_url": preview_url(s.version),
        }
        for v, s in sorted(derived.seeds.items())
    ]
    store.write_bytes("work/seeds.jsonl", "\n".join(json.dumps(s, sort_keys=True) for s in seeds).encode())
    return dict(derived.counts)


def load_seeds(store: ArtifactStore) -> list[tuple[str, CatalogSeed]]:
    text = store.read_bytes("work/seeds.jsonl").decode()
    out = []
    for line in filter(None, text.splitlines()):
        item = json.loads(line)
        seed = CatalogSeed(
            Model.model_validate(item["model"]),
            ModelVersion.model_validate(item["version"]),
            item["sample_prompts"],
            item["sample_count"],
            item.get("preview_url"),  # seeds written before previews were kept have none
        )
        out.append((item["name"], seed))
    return out


# -- describe -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DescribeStage(Stage):
    """Keyed by the LLM's URL and model, never its key (which is not a field: it stays out of
    Prefect's records) nor how many requests run at once."""

    filter_fingerprint: str
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_concurrency: int = 4  # requests in flight, per shard
    llm_max_attempts: int = 3
    show_progress: bool = True
    task_runner: TaskRunnerSpec | None = None  # where the shards run (None: here)
    shards: int | None = None  # slices of the seeds (None: one here, one per runner worker)
    name: ClassVar[str] = "describe"
    outputs: ClassVar[tuple[str, ...]] = ("catalog.parquet",)
    record_dir: ClassVar[str] = "work"
    code: ClassVar[tuple[str, ...]] = tuple(
        f"diffagent.dabench.{m}" for m in ("stages", "describe", "catalog", "prompts")
    )
    unkeyed: ClassVar[tuple[str, ...]] = (
        "root",
        "llm_concurrency",
        "llm_max_attempts",
        "show_progress",
        "task_runner",
        "shards",
    )


def run_describe(stage: DescribeStage, llm: LLMConfig | None, shard_task: Any = None) -> dict[str, Any]:
    """`llm`: the stage's LLM with its key (None: the offline description builder). `shard_task`:
    the Prefect task over `describe_shard` that a task runner submits (it reads the key itself)."""
    store = stage.store
    seeds = load_seeds(store)
    ranges = shard_ranges(len(seeds), shard_count(stage.task_runner, stage.shards))
    parameters = [{"stage": stage, "start": a, "stop": b} for a, b in ranges]

    def here(stage: DescribeStage, start: int, stop: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        return describe_seeds(store, seeds[start:stop], llm, stage.show_progress)

    results = run_shards(stage.task_runner, shard_task, here, parameters)
    rows = [row for shard_rows, _ in results for row in shard_rows]
    report = sum((Counter(shard_report) for _, shard_report in results), Counter())
    store.write_table("catalog.parquet", rows_to_table(rows, CATALOG_SCHEMA))
    return {"catalog": len(rows), **{name: report[name] for name in asdict(DescribeReport())}}


def describe_shard(
    stage: DescribeStage, llm: LLMConfig | None, start: int, stop: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Catalog rows of seeds `[start, stop)` of the stage's store, and what describing them took."""
    return describe_seeds(stage.store, load_seeds(stage.store)[start:stop], llm, stage.show_progress)


def describe_seeds(
    store: ArtifactStore, seeds: list[tuple[str, CatalogSeed]], llm: LLMConfig | None, show_progress: bool
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Catalog rows of named seeds, in order (descriptions cached under `cache/descriptions`)."""
    describer = Describer(store.child("cache/descriptions"), llm)
    inputs = [description_inputs(seed) for _, seed in seeds]
    described = asyncio.run(describer.describe_all(inputs, show_progress))
    rows = [
        catalog_row(seed, name, text, source)
        for (name, seed), (text, source) in zip(seeds, described, strict=True)
    ]
    return rows, asdict(describer.report)


# -- split --------------------------------------------------------------------------------------
def previous_assignment(store: ArtifactStore) -> dict[int, str]:
    """image id -> split of the data set version already published here (empty for a first build)."""
    previous: dict[int, str] = {}
    for name in SPLITS:
        if store.exists(f"splits/{name}.parquet"):
            for image_id in store.read_table(f"splits/{name}.parquet").column("image_id").to_pylist():
                previous[image_id] = name
    return previous


PUBLISHED = (
    "catalog.parquet",
    "instructions.parquet",
    "rejects.parquet",
    *(f"splits/{s}.parquet" for s in SPLITS),
)


def publish_version(store: ArtifactStore, counts: dict[str, Any]) -> str:
    """Snapshot the published files as `versions/vNNNN/` and point `latest.json` at it.

    Earlier versions are kept as they were: a recrawl never loses data. The top-level files are
    always the newest version (the contract the rest of the product reads).
    """
    existing = [n.rsplit("/", 1)[-1] for n in store.list("versions")]
    version = f"v{len(existing) + 1:04d}"
    for name in PUBLISHED:
        store.write_bytes(f"versions/{version}/{name}", store.read_bytes(name))
    store.write_json(f"versions/{version}/counts.json", counts)
    store.write_json("latest.json", {"version": version, "path": f"versions/{version}", "counts": counts})
    return version


@dataclass(frozen=True)
class SplitStage(Stage):
    describe_fingerprint: str
    seed: int = 0
    name: ClassVar[str] = "split"
    outputs: ClassVar[tuple[str, ...]] = ("instructions.parquet", *(f"splits/{s}.parquet" for s in SPLITS))
    record_dir: ClassVar[str] = "work"
    code: ClassVar[tuple[str, ...]] = ("diffagent.dabench.stages", "diffagent.dabench.split")


def run_split(stage: SplitStage) -> dict[str, Any]:
    """Split 8:1:1 (pairs of an earlier version keep their split), then publish a new version."""
    store, seed = stage.store, stage.seed
    pairs = store.read_table("work/pairs.parquet", INSTRUCTION_SCHEMA)
    prompts, image_ids = pairs.column("prompt").to_pylist(), pairs.column("image_id").to_pylist()
    previous = previous_assignment(store)
    if previous:
        assignment = incremental_assignment(previous, prompts, image_ids, seed)
    else:
        assignment = split_assignment(prompts, image_ids, seed)
    store.write_table("instructions.parquet", pairs)
    labels = pa.array(assignment, pa.string())
    counts: dict[str, Any] = {"instructions": pairs.num_rows, **dict(Counter(assignment))}
    for name in SPLITS:
        store.write_table(f"splits/{name}.parquet", pairs.filter(pc.equal(labels, name)))
    counts["version"] = publish_version(store, counts)
    return counts
