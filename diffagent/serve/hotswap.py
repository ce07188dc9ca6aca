"""Catalog hot swap: `serve --catalog DIR` follows `DIR/latest.json`.

A recrawl publishes `versions/vNNNN/` and then points `latest.json` at it (dabench.stages
.publish_version), so a version folder is complete once it is named there. The follower polls that
file; on a new version it loads the catalog and builds the new agent (retrieval index included) in
a thread, then swaps one reference: requests in flight finish on the agent their batch started
with, later batches use the new one, none fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffagent.agent.selector import Agent, check_catalog
from diffagent.catalog import load_catalog

log = logging.getLogger(__name__)
LATEST = "latest.json"


@dataclass
class Serving:
    """What the app answers with now; `agent` is replaced whole by a swap."""

    agent: Any
    agent_dir: Path | None = None
    catalog_version: str | None = None
    swaps: list[str] = field(default_factory=list)  # versions swapped in, oldest first


def latest_version(folder: Path) -> tuple[str, Path] | None:
    """(version, its folder) that `folder/latest.json` names, or None when there is none."""
    file = folder / LATEST
    if not file.exists():
        return None
    latest = json.loads(file.read_text(encoding="utf-8"))
    return str(latest["version"]), folder / latest["path"]


def resolve_catalog(path: Path) -> tuple[Path, str | None]:
    """The folder to load for `serve --catalog PATH`: its latest published version when it has one."""
    found = latest_version(path) if path.is_dir() else None
    return (found[1], found[0]) if found else (path, None)


def swap_backend(backend: Any, catalog: Any) -> Any:
    """The same loaded LM, constrained to the new catalog (the trie is rebuilt, the weights are not)."""
    from diffagent.agent.generate import TransformersBackend

    if isinstance(backend, TransformersBackend):
        return TransformersBackend(backend.model, backend.tokenizer, catalog, backend.fast_forward)
    raise ValueError(f"hot swap supports the transformers backend, not {type(backend).__name__}")


def rebuild_agent(old: Agent, catalog_folder: Path, agent_dir: Path | None) -> Agent:
    catalog = load_catalog(catalog_folder)
    backend = None
    if old.backend is not None:
        if agent_dir is not None:
            check_catalog(agent_dir, old.manifest, catalog)
        backend = swap_backend(old.backend, catalog)
    new = Agent(
        catalog,
        backend,
        old.retriever.embedder,
        old.manifest,
        old.shortlist_size,
        old.retriever_source,
        folder=old.folder,
        chooser=old._chooser,  # the same loaded weights: a catalog swap does not retrain it
    )
    new.retriever  # noqa: B018 - embed the new catalog now, not in the first request after the swap
    return new


class CatalogFollower:
    def __init__(self, folder: Path, serving: Serving, interval_s: float, on_swap: Any = None) -> None:
        self.folder, self.serving, self.interval = folder, serving, interval_s
        self.on_swap = on_swap  # called with "swapped" or "failed"
        self.failed: set[str] = set()  # versions that did not load: not retried every poll

    async def check(self) -> bool:
        """Swap in a newly published version; True when one was swapped in."""
        found = await asyncio.to_thread(latest_version, self.folder)
        if found is None or found[0] == self.serving.catalog_version or found[0] in self.failed:
            return False
        version, folder = found
        try:
            agent = await asyncio.to_thread(rebuild_agent, self.serving.agent, folder, self.serving.agent_dir)
        except Exception:  # noqa: BLE001 - the old catalog keeps serving; the failure is logged and counted
            log.exception("catalog %s did not load; still serving %s", version, self.serving.catalog_version)
            self.failed.add(version)
            self._report("failed")
            return False
        self.serving.agent, self.serving.catalog_version = agent, version
        self.serving.swaps.append(version)
        log.info("catalog %s swapped in (fingerprint %s)", version, agent.catalog.fingerprint)
        self._report("swapped")
        return True

    def _report(self, outcome: str) -> None:
        if self.on_swap is not None:
            self.on_swap(outcome)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # noqa: BLE001 - a bad latest.json must not stop following
                log.exception("reading %s failed", self.folder / LATEST)
