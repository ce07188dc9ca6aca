"""The filter's walk over the raw layer, cut into shards that can run anywhere, and their merge.

A shard is a contiguous slice of the merged models (`raw.merged_models`, first-seen order). It
reads its own versions' raw images, every by-hash answer and the whole crawl's version records (a
LoRA's base that the crawl also returned keeps its crawled record, whichever shard crawled it),
and gives every image it saw first as a pair or a reject row. `merge_shards` puts the shards
together as one walk over all the models would have: pairs and rejects in shard order, the first
occurrence of an image id wins (one a later shard saw again counts as a duplicate), catalog seeds
built from the merged pairs, counts summed. `derive` is that merge of a single shard, so the
in-process filter and the sharded one are one code path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from diffagent.dabench.base_checkpoint import BaseCheckpointResolver, _Reject
from diffagent.dabench.derive import (
    CatalogSeed,
    Columns,
    FilterParams,
    image_pair,
    model_reject,
    version_reject,
)
from diffagent.dabench.raw import merged_hash_answers, merged_models, raw_image_reader
from diffagent.storage import ArtifactStore
from schemas.civitai import Image, Model, ModelVersion
from schemas.dabench import INSTRUCTION_SCHEMA, REJECT_SCHEMA

Record = tuple[Model, ModelVersion]  # what a catalog seed is made of
SAMPLE_PROMPTS = 5  # distinct sample prompts a catalog seed keeps, the first ones seen


@dataclass
class Derived:
    pairs: Columns  # INSTRUCTION_SCHEMA columns, `model`/`base_checkpoint` named by the caller
    seeds: dict[int, CatalogSeed]  # by version id
    rejects: Columns  # REJECT_SCHEMA columns
    counts: Counter


@dataclass
class ShardResult:
    """One shard's walk, before the merge decides which of its images another shard saw first."""

    pairs: Columns  # INSTRUCTION_SCHEMA columns, in walk order
    rejects: Columns  # REJECT_SCHEMA columns, in walk order (model and version rows: no image id)
    records: dict[int, Record]  # version id -> the record of each version a pair names (own or base)
    counts: Counter  # models, versions, and images this shard saw twice (or with no id)

    def image_ids(self) -> set[int]:
        ids = {image_id for image_id in self.rejects.column("image_id") if image_id is not None}
        return ids.union(self.pairs.column("image_id"))


def derive_shard(
    models: Sequence[Model],
    start: int,
    stop: int,
    images_of: Callable[[int], Iterable[str]],
    hash_answers: dict[str, dict[str, Any] | None],
    params: FilterParams,
) -> ShardResult:
    """The walk over `models[start:stop]`: each version's raw image JSON (`images_of(version_id)`,
    streamed so that memory holds one version at a time) against the by-hash answers. `models`
    is the whole crawl, whose records LoRA bases are looked up in."""
    pairs = Columns(INSTRUCTION_SCHEMA.names)
    rejects = Columns(REJECT_SCHEMA.names)
    counts: Counter = Counter()
    records: dict[int, Record] = {}
    seen_images: set[int] = set()
    resolve_base = BaseCheckpointResolver(hash_answers)
    # A LoRA's base that the crawl also returned keeps its crawled record (stats, description).
    crawled = {version.id: (model, version) for model in models for version in model.model_versions}

    def reject(
        why: tuple[str, str, str], image_id: int | None, version_id: int | None, model_id: int
    ) -> None:
        stage, reason, detail = why
        rejects.append(
            {
                "image_id": image_id,
                "version_id": version_id,
                "model_id": model_id,
                "stage": stage,
                "reason": reason,
                "detail": detail,
            }
        )

    for model in models[start:stop]:
        counts["models"] += 1
        dropped_model = model_reject(model, params)
        if dropped_model:
            reject(dropped_model, None, None, model.id)
        for version in model.model_versions:
            counts["versions"] += 1
            dropped_version = dropped_model or version_reject(version, params)
            if dropped_version and not dropped_model:
                reject(dropped_version, None, version.id, model.id)
            for text in images_of(version.id):
                image = Image.model_validate_json(text)
                if image.id is None or image.id in seen_images:
                    counts["duplicate_images"] += 1
                    continue
                seen_images.add(image.id)
                if dropped_version:
                    reject(dropped_version, image.id, version.id, model.id)
                    continue
                try:
                    pair, base = image_pair(model, version, image, resolve_base)
                except _Reject as error:
                    reject((error.stage, error.reason, error.detail), image.id, version.id, model.id)
                    continue
                pairs.append(pair)
                records[version.id] = (model, version)
                if base is not None:
                    records.setdefault(base[1].id, crawled.get(base[1].id, base))
    return ShardResult(pairs, rejects, records, counts)


def merge_shards(shards: Iterable[ShardResult]) -> Derived:
    """The shards (in model order) as one walk: an image id an earlier shard saw is a duplicate."""
    pairs, rejects = Columns(INSTRUCTION_SCHEMA.names), Columns(REJECT_SCHEMA.names)
    counts: Counter = Counter()
    records: dict[int, Record] = {}
    seen: set[int] = set()
    for shard in shards:
        counts.update(shard.counts)
        ids = shard.image_ids()
        later = ids & seen
        seen |= ids
        if later:
            counts["duplicate_images"] += len(later)
        if len(ids) > len(later):
            counts["images"] += len(ids) - len(later)
        for merged, part in ((pairs, shard.pairs), (rejects, shard.rejects)):
            merged.extend(part, [image_id not in later for image_id in part.column("image_id")])
        records.update(shard.records)
    for stage, reason in zip(rejects.column("stage"), rejects.column("reason"), strict=True):
        counts[f"reject:{stage}:{reason}"] += 1
    counts["pairs"] = len(pairs)
    for source in ("creator", "community", "unknown"):  # whose images the pairs come from
        counts[f"pairs_{source}"] = pairs.column("image_source").count(source)
    return Derived(pairs, catalog_seeds(pairs, records), rejects, counts)


def catalog_seeds(pairs: Columns, records: dict[int, Record]) -> dict[int, CatalogSeed]:
    """A seed per version that has pairs (how many, its first distinct prompts) and per LoRA base."""
    seeds: dict[int, CatalogSeed] = {}
    columns = (pairs.column(name) for name in ("version_id", "prompt", "base_checkpoint_version_id"))
    for version_id, prompt, base_id in zip(*columns, strict=True):
        if version_id not in seeds:
            seeds[version_id] = CatalogSeed(*records[version_id])
        seed = seeds[version_id]
        seed.sample_count += 1
        if len(seed.sample_prompts) < SAMPLE_PROMPTS and prompt not in seed.sample_prompts:
            seed.sample_prompts.append(prompt)
        if base_id is not None and base_id not in seeds:
            seeds[base_id] = CatalogSeed(*records[base_id])
    return seeds


def derive(
    models: Iterable[Model],
    images_of: Callable[[int], Iterable[str]],
    hash_answers: dict[str, dict[str, Any] | None],
    params: FilterParams,
) -> Derived:
    """Pairs, catalog seeds and rejects from raw models: the merge of one shard of all of them."""
    models = list(models)
    return merge_shards([derive_shard(models, 0, len(models), images_of, hash_answers, params)])


@dataclass
class FilterInputs:
    """What a filter shard reads from the raw layers of a DABench store."""

    models: list[Model]
    images_of: Callable[[int], Iterable[str]]
    hash_answers: dict[str, dict[str, Any] | None]

    @classmethod
    def read(cls, store: ArtifactStore) -> FilterInputs:
        return cls(merged_models(store), raw_image_reader(store), merged_hash_answers(store))

    def shard(self, start: int, stop: int, params: FilterParams) -> ShardResult:
        return derive_shard(self.models, start, stop, self.images_of, self.hash_answers, params)


def filter_shard(root: str, start: int, stop: int, params: FilterParams) -> ShardResult:
    """One filter shard of the store at `root`, read there (what a task runner's worker runs)."""
    return FilterInputs.read(ArtifactStore(root)).shard(start, stop, params)
