"""The DABench stages as plain functions over an artifact store, each skipped when its inputs
are unchanged.

Every stage writes its outputs and then `work/<stage>.json` holding the fingerprint of its inputs.
A rerun whose inputs hash the same returns that record without recomputing anything; a changed
input (a new crawl page, other thresholds, another LLM) changes every fingerprint downstream.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from diffagent.civitai.client import CivitaiClient, RetryPolicy
from diffagent.dabench.catalog import catalog_row, description_inputs, unique_model_names
from diffagent.dabench.crawl import CrawlParams, crawl, load_hash_answers, load_raw_models
from diffagent.dabench.derive import CatalogSeed, FilterParams, derive
from diffagent.dabench.describe import Describer, LLMConfig
from diffagent.dabench.split import SPLITS, split_assignment
from diffagent.storage import ArtifactStore, rows_to_table
from schemas.civitai import Model, ModelVersion
from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA, REJECT_SCHEMA


def fingerprint(*parts: Any) -> str:
    payload = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def cached_stage(store: ArtifactStore, stage: str, key: str) -> dict[str, Any] | None:
    record = store.read_json(f"work/{stage}.json")
    if record and record.get("fingerprint") == key:
        return {**record, "cached": True}
    return None


def finish_stage(store: ArtifactStore, stage: str, key: str, counts: dict[str, Any]) -> dict[str, Any]:
    record = {"fingerprint": key, "counts": counts}
    store.write_json(f"work/{stage}.json", record)
    return {**record, "cached": False}


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
) -> dict[str, Any]:
    """Crawl (resuming if interrupted); returns counts and the raw layer's fingerprint."""

    async def go() -> Any:
        async with CivitaiClient(civitai_url, api_key, concurrency, timeout, retry) as client:
            return await crawl(client, store, params, show_progress)

    report = asyncio.run(go())
    return {"fingerprint": raw_fingerprint(store), "counts": asdict(report)}


def raw_fingerprint(store: ArtifactStore) -> str:
    files = []
    for folder in ("raw/models", "raw/images", "raw/hashes"):
        for name in store.list(folder, ".parquet"):
            files.append((name, store.fs.size(store.path(name))))
    return fingerprint(store.read_json("raw/state.json"), files)


# -- filter -------------------------------------------------------------------------------------
def raw_image_reader(store: ArtifactStore) -> Callable[[int], Iterator[str]]:
    """`images_of(version_id)`: that version's raw image JSON, read one page file at a time."""
    files: dict[int, list[str]] = {}
    for name in store.list("raw/images", ".parquet"):
        version = int(name.rsplit("/", 1)[-1].split("-", 1)[0].removeprefix("v"))
        files.setdefault(version, []).append(name)

    def images_of(version_id: int) -> Iterator[str]:
        for name in files.get(version_id, []):
            yield from store.read_table(name).column("raw_json").to_pylist()

    return images_of


def run_filter(store: ArtifactStore, raw_key: str, params: FilterParams) -> dict[str, Any]:
    key = fingerprint("filter", raw_key, asdict(params))
    if cached := cached_stage(store, "filter", key):
        return cached
    derived = derive(load_raw_models(store), raw_image_reader(store), load_hash_answers(store), params)
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
        }
        for v, s in sorted(derived.seeds.items())
    ]
    store.write_bytes("work/seeds.jsonl", "\n".join(json.dumps(s, sort_keys=True) for s in seeds).encode())
    return finish_stage(store, "filter", key, dict(derived.counts))


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
        )
        out.append((item["name"], seed))
    return out


# -- describe -----------------------------------------------------------------------------------
def run_describe(
    store: ArtifactStore, filter_key: str, llm: LLMConfig | None, show_progress: bool = True
) -> dict[str, Any]:
    key = fingerprint("describe", filter_key, llm.base_url if llm else None, llm.model if llm else None)
    if cached := cached_stage(store, "describe", key):
        return cached
    seeds = load_seeds(store)
    describer = Describer(store.child("cache/descriptions"), llm)
    inputs = [description_inputs(seed) for _, seed in seeds]
    described = asyncio.run(describer.describe_all(inputs, show_progress))
    rows = [
        catalog_row(seed, name, text, source)
        for (name, seed), (text, source) in zip(seeds, described, strict=True)
    ]
    store.write_table("catalog.parquet", rows_to_table(rows, CATALOG_SCHEMA))
    counts = {"catalog": len(rows), **asdict(describer.report)}
    return finish_stage(store, "describe", key, counts)


# -- split --------------------------------------------------------------------------------------
def run_split(store: ArtifactStore, describe_key: str, seed: int = 0) -> dict[str, Any]:
    key = fingerprint("split", describe_key, seed)
    if cached := cached_stage(store, "split", key):
        return cached
    pairs = store.read_table("work/pairs.parquet", INSTRUCTION_SCHEMA)
    assignment = split_assignment(
        pairs.column("prompt").to_pylist(), pairs.column("image_id").to_pylist(), seed
    )
    store.write_table("instructions.parquet", pairs)
    labels = pa.array(assignment)
    counts: Counter = Counter(assignment)
    for name in SPLITS:
        mask = pc.equal(labels, name)
        store.write_table(f"splits/{name}.parquet", pairs.filter(mask))
    return finish_stage(store, "split", key, {"instructions": pairs.num_rows, **dict(counts)})
