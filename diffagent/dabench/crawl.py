"""Crawl Civitai into the raw Parquet layer, resumable after a kill at any point.

Layout under `<out>/raw/`:
- `models/page-00001.parquet` ...: one file per `/models` page (RawModelRow),
- `images/v<version>-p00001.parquet` ...: one file per `/images` page of a version (RawImageRow),
- `hashes/v<version>.parquet`: by-hash answers for that version's images (HashResolutionRow), SHA256
  hashes resolved in bulk where the API offers it (`CivitaiClient.versions_by_hashes`),
- `state.json`: the crawl's position, rewritten after every page.

Each page file is written (atomically) before the state that points past it, and file names are
fixed by page number, so a rerun after a kill rewrites at most the page in flight, under the same
name: no duplicate, no lost record, no restart from scratch.

A version's images are taken most-reacted first, and only until `max_images_per_version` of them
carry a prompt (a popular checkpoint has hundreds of thousands): each request asks for no more
than the budget still open, and paging the version stops once it is met.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from tqdm.auto import tqdm

from diffagent.civitai.client import CivitaiClient
from diffagent.dabench.prompts import strip_network_tags
from diffagent.storage import ArtifactStore, rows_to_table
from schemas.civitai import Image, Model, loose_int
from schemas.dabench import HASH_RESOLUTION_SCHEMA, RAW_IMAGE_SCHEMA, RAW_MODEL_SCHEMA
from schemas.t2i import BASE_MODELS, MODEL_TYPES

log = logging.getLogger(__name__)
STATE = "raw/state.json"


@dataclass(frozen=True)
class CrawlParams:
    types: tuple[str, ...] = MODEL_TYPES
    base_models: tuple[str, ...] = BASE_MODELS
    max_models: int | None = None
    sort: str | None = None
    models_page_size: int = 100
    images_page_size: int = 200
    # Incremental recrawl: newest first, stop at the first page holding nothing new.
    stop_at_known: bool = False
    # Images with a prompt taken per version, most-reacted first (None: every image).
    max_images_per_version: int | None = 20
    images_sort: str = "Most Reactions"


def has_prompt(item: dict[str, Any]) -> bool:
    """Whether an `/images` item carries a prompt the filter can keep (network tags aside)."""
    image = Image.model_validate(item)
    return image.meta is not None and bool(strip_network_tags(image.meta.prompt or ""))


@dataclass
class CrawlState:
    params: dict[str, Any]
    models_cursor: str | None = None
    models_pages: int = 0
    models_seen: int = 0
    models_finished: bool = False
    # version id (as str: JSON keys) -> {"cursor", "pages", "finished"}
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: ArtifactStore, params: CrawlParams) -> CrawlState:
        wanted = _params_dict(params)
        saved = store.read_json(STATE)
        if saved is None:
            return cls(params=wanted)
        if saved["params"] != wanted:
            raise ValueError(
                f"{store.url('raw')} holds a crawl with parameters {saved['params']}, not {wanted}; "
                "use another output directory or the same parameters"
            )
        return cls(**saved)


def _params_dict(params: CrawlParams) -> dict[str, Any]:
    values = asdict(params)
    values["types"], values["base_models"] = list(params.types), list(params.base_models)
    return values


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class CrawlReport:
    models: int
    versions: int
    images: int
    hashes: int
    requests_retried: int


def crawl_versions(models: list[Model], params: CrawlParams) -> list[tuple[int, str]]:
    """(version id, model type) of every version whose images the crawl fetches."""
    out = []
    for model in models:
        if model.type not in params.types:
            continue
        for version in model.model_versions:
            if version.base_model in params.base_models:
                out.append((version.id, model.type or ""))
    return out


def load_raw_models(store: ArtifactStore) -> list[Model]:
    table = store.read_tables("raw/models", RAW_MODEL_SCHEMA)
    return [Model.model_validate_json(text) for text in table.column("raw_json").to_pylist()]


def load_hash_answers(store: ArtifactStore) -> dict[str, dict[str, Any] | None]:
    table = store.read_tables("raw/hashes", HASH_RESOLUTION_SCHEMA)
    return {row["hash"]: (json.loads(row["raw_json"]) if row["found"] else None) for row in table.to_pylist()}


class Crawler:
    """Crawls into `store`'s raw layer. `known` maps the model ids an earlier crawl already holds
    to their version ids: those versions' images are not fetched again (incremental recrawl)."""

    def __init__(
        self,
        client: CivitaiClient,
        store: ArtifactStore,
        params: CrawlParams,
        show_progress: bool = True,
        known: dict[int, set[int]] | None = None,
    ) -> None:
        self.client, self.store, self.params = client, store, params
        self.known = known or {}
        self.known_versions = {v for versions in self.known.values() for v in versions}
        self.state = CrawlState.load(store, params)
        self._state_lock = asyncio.Lock()
        self.progress = tqdm(desc="crawl images", unit="img", disable=not show_progress)
        self.images = 0

    async def _save_state(self) -> None:
        """Files are written in a worker thread so that requests keep flowing meanwhile; the lock
        keeps state snapshots in order (a page file is always written before the state past it)."""
        async with self._state_lock:
            # Rewritten after every page: a shallow dict (no asdict deep copy) keeps that cheap.
            payload = json.dumps(dict(vars(self.state)), sort_keys=True).encode()
            await asyncio.to_thread(self.store.write_bytes, STATE, payload)

    def new_versions(self, models: list[Model]) -> list[tuple[int, str]]:
        return [v for v in crawl_versions(models, self.params) if v[0] not in self.known_versions]

    async def run(self) -> CrawlReport:
        self.client.seed_hash_cache(load_hash_answers(self.store))
        models = load_raw_models(self.store)
        # Finish whatever the last run left half-done, while new pages are fetched: a version's
        # images are crawled in the background so the next /models page never waits for them.
        pending = [asyncio.create_task(self._crawl_images(self.new_versions(models)))]
        try:
            while not self.state.models_finished:
                page_models = await self._next_models_page()
                models.extend(page_models)
                pending.append(asyncio.create_task(self._crawl_images(self.new_versions(page_models))))
            await asyncio.gather(*pending)
        finally:
            for task in pending:
                task.cancel()
        self.progress.close()
        versions = self.new_versions(models)
        return CrawlReport(
            len(models), len(versions), self.images, len(self.client._hash_cache), self.client.retries
        )

    async def _next_models_page(self) -> list[Model]:
        params, state = self.params, self.state
        page = await self.client.models_page(
            state.models_cursor,
            types=list(params.types),
            base_models=list(params.base_models),
            limit=params.models_page_size,
            sort=params.sort,
        )
        items = page.items
        if params.max_models is not None:
            items = items[: max(params.max_models - state.models_seen, 0)]
        number = state.models_pages + 1
        fetched = _now()
        rows = [
            {
                "page_index": number,
                "model_id": int(item["id"]),
                "fetched_at": fetched,
                "raw_json": json.dumps(item, sort_keys=True),
            }
            for item in items
        ]
        table = rows_to_table(rows, RAW_MODEL_SCHEMA)
        await asyncio.to_thread(self.store.write_table, f"raw/models/page-{number:05d}.parquet", table)
        state.models_pages, state.models_seen = number, state.models_seen + len(items)
        state.models_cursor = page.metadata.next_cursor
        reached_max = params.max_models is not None and state.models_seen >= params.max_models
        models = [Model.model_validate(item) for item in items]
        nothing_new = not self.new_versions(models) and all(m.id in self.known for m in models)
        state.models_finished = (
            page.metadata.next_cursor is None
            or reached_max
            or not page.items
            or (params.stop_at_known and nothing_new)
        )
        for version_id, _ in self.new_versions(models):
            state.versions.setdefault(str(version_id), {"cursor": None, "pages": 0, "finished": False})
        await self._save_state()
        return models

    async def _crawl_images(self, versions: list[tuple[int, str]]) -> None:
        for version_id, _ in versions:
            self.state.versions.setdefault(str(version_id), {"cursor": None, "pages": 0, "finished": False})
        pending = [(v, t) for v, t in versions if not self.state.versions[str(v)]["finished"]]
        await asyncio.gather(*(self._crawl_version(v, t) for v, t in pending))

    async def _crawl_version(self, version_id: int, model_type: str) -> None:
        entry = self.state.versions[str(version_id)]
        budget = self.params.max_images_per_version
        while not entry["finished"]:
            open_budget = None if budget is None else budget - entry.get("with_prompt", 0)
            limit = (
                self.params.images_page_size
                if open_budget is None
                else min(self.params.images_page_size, open_budget)
            )
            page = await self.client.images_page(
                version_id, entry["cursor"], limit=max(limit, 1), sort=self.params.images_sort
            )
            number = entry["pages"] + 1
            fetched = _now()
            rows = []
            for item in page.items:
                image_id = loose_int(item.get("id"))
                rows.append(
                    {
                        "version_id": version_id,
                        "page_index": number,
                        "image_id": image_id,
                        "fetched_at": fetched,
                        "raw_json": json.dumps(item, sort_keys=True),
                    }
                )
            name = f"raw/images/v{version_id}-p{number:05d}.parquet"
            await asyncio.to_thread(self.store.write_table, name, rows_to_table(rows, RAW_IMAGE_SCHEMA))
            entry["pages"], entry["cursor"] = number, page.metadata.next_cursor
            entry["with_prompt"] = entry.get("with_prompt", 0) + sum(map(has_prompt, page.items))
            budget_met = budget is not None and entry["with_prompt"] >= budget
            if page.metadata.next_cursor is None or not page.items or budget_met:
                entry["finished"] = model_type != "LORA"  # a LoRA still needs its hashes resolved
                entry["images_done"] = True
            await self._save_state()
            self.images += len(rows)
            self.progress.update(len(rows))
            if entry.get("images_done"):
                break
        if model_type == "LORA" and not entry["finished"]:
            await self._resolve_hashes(version_id, entry["pages"])
            entry["finished"] = True
            await self._save_state()

    async def _resolve_hashes(self, version_id: int, pages: int) -> None:
        """Resolve every `Model hash` of a LoRA version's images and keep the answers raw."""
        wanted: set[str] = set()
        for number in range(1, pages + 1):
            name = f"raw/images/v{version_id}-p{number:05d}.parquet"
            for text in self.store.read_table(name, RAW_IMAGE_SCHEMA).column("raw_json").to_pylist():
                image = Image.model_validate_json(text)
                if image.meta is not None and image.meta.model_hash:
                    wanted.add(image.meta.model_hash.strip().upper())
        answers = await self.client.versions_by_hashes(sorted(wanted))
        rows = [
            {"hash": h, "found": a is not None, "raw_json": json.dumps(a, sort_keys=True) if a else ""}
            for h, a in sorted(answers.items())
        ]
        self.store.write_table(
            f"raw/hashes/v{version_id}.parquet", rows_to_table(rows, HASH_RESOLUTION_SCHEMA)
        )


async def crawl(
    client: CivitaiClient,
    store: ArtifactStore,
    params: CrawlParams,
    show_progress: bool = True,
    known: dict[int, set[int]] | None = None,
) -> CrawlReport:
    """Crawl (or resume crawling) into `store`'s raw layer."""
    return await Crawler(client, store, params, show_progress, known).run()
