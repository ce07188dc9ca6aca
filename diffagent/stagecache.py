"""One stage cache for every pipeline (DABench build, sftA-train): Prefect's own task caching,
keyed by what decides a stage's outputs.

A stage is a frozen dataclass (`Stage`): its fields are its settings and the fingerprints of the
upstream stages it reads; `input_files()` names further input artifacts (files or folders, local or
fsspec URLs) whose content is hashed into the key. Fields listed in `unkeyed` (where it runs, how it
shows progress) do not change the key. `code` names the modules and packages whose source decides
the stage's outputs: their content is in the key too, so a fixed bug recomputes the stage (and,
through the output fingerprints, what follows it), and a change elsewhere does not. The key is
computed once per stage object (its inputs hashed once a run), the code once per process.

The stage runs as a Prefect task whose `cache_key_fn` is that key (`STAGE_TASK`) and whose result
is persisted (JSON) in the run's own artifact store, under `<record_dir>/results/`. So a rerun with
the same inputs shows the stage as Cached in the Prefect UI, and `refresh_cache=True` forces it.

Two runs of one stage on one location take turns (`stagelock.store_lock` on the run's store):
the second then finds the first's outputs current, or recomputes them after it.

The outputs (Parquet, agent folders) stay at fixed names: they are the data contract. Since one
location holds one version, each finished stage also writes `<record_dir>/<stage>.json` with its
key and the content fingerprint of its outputs; `run_stage` recomputes when that record names
another key or the outputs changed or went missing, which keeps a run that went k=2 -> k=3 -> k=2
from reading k=3's rollouts from a k=2 cache entry. Downstream stages key on the outputs'
fingerprint, so a recompute that writes the same bytes (a recrawl that found nothing new) leaves
everything after it cached.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import time
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from diffagent.stagelock import store_lock
from diffagent.storage import ArtifactStore

S = TypeVar("S", bound="Stage")


def fingerprint(*parts: Any) -> str:
    """sha256 (24 hex) of JSON-able parts: equal settings give equal keys across machines."""
    payload = json.dumps(parts, sort_keys=True, default=_jsonable)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def artifact_fingerprint(location: str) -> str | None:
    """Content hash of a file, or of a folder's files with their relative names; None when absent."""
    store = ArtifactStore(location)
    if not store.exists(""):
        return None
    digest = hashlib.sha256()
    for name in store.walk():
        digest.update(name.encode() + b"\0")
        with store.fs.open(store.path(name), "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:24]


@functools.cache
def source_fingerprint(module: str) -> str:
    """Content hash of a module's source file, or of every .py file of a package with its relative
    names; once per process (the code a process runs does not change under it)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise ValueError(f"stage code {module!r} is not a module or package with Python source")
    origin = Path(spec.origin)
    files = sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(origin.parent).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:24]


@dataclasses.dataclass(frozen=True)
class Stage:
    """Base of every cached stage. Subclasses add `root` (the run's artifact store) and settings."""

    root: str
    name: ClassVar[str]
    outputs: ClassVar[tuple[str, ...]]  # names under `root` that make up the result
    record_dir: ClassVar[str] = "stages"
    unkeyed: ClassVar[tuple[str, ...]] = ("root",)
    # Modules or packages (dotted names) whose source decides the outputs (`source_fingerprint`).
    code: ClassVar[tuple[str, ...]] = ()

    def input_files(self) -> dict[str, str]:
        """label -> location of input artifacts read by this stage besides upstream stages."""
        return {}

    def settings(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in self.unkeyed}

    def key(self) -> str:
        return self._key

    @functools.cached_property
    def _key(self) -> str:
        """Once per stage object: a run asks for its key several times (the record check, Prefect's
        cache key, the record), and hashing inputs such as a local base model folder is slow."""
        inputs = {label: artifact_fingerprint(url) for label, url in self.input_files().items()}
        code = {module: source_fingerprint(module) for module in self.code}
        return f"{self.name}-{fingerprint(self.name, self.settings(), inputs, code)}"

    @property
    def store(self) -> ArtifactStore:
        return ArtifactStore(self.root)

    def outputs_fingerprint(self) -> str | None:
        parts = [artifact_fingerprint(self.store.url(name)) for name in self.outputs]
        return None if None in parts else fingerprint(*parts)


def stage_cache_key(_context: Any, parameters: dict[str, Any]) -> str:
    """Prefect `cache_key_fn`: the key of the task's `stage` parameter."""
    return parameters["stage"].key()


# Options of every stage task: keyed by its inputs, result kept (as JSON) for the next run.
STAGE_TASK: dict[str, Any] = {
    "cache_key_fn": stage_cache_key,
    "persist_result": True,
    "result_serializer": "json",
}


def record_stage(stage: Stage, counts: dict[str, Any], started: float | None = None) -> dict[str, Any]:
    """Call at the end of a stage task: write `<record_dir>/<name>.json` and return the record."""
    record = {
        "stage": stage.name,
        "key": stage.key(),
        "fingerprint": stage.outputs_fingerprint(),
        "counts": counts,
    }
    if record["fingerprint"] is None:
        missing = [n for n in stage.outputs if not stage.store.exists(n)]
        raise RuntimeError(f"stage {stage.name!r} finished without writing {missing} under {stage.root}")
    if started is not None:
        record["wall_s"] = round(time.perf_counter() - started, 3)
    stage.store.write_json(f"{stage.record_dir}/{stage.name}.json", record)
    return record


def cached_record(stage: Stage) -> dict[str, Any] | None:
    """The stage's record when the outputs on disk are the ones this key produced (record and
    content both match), else None: what a run elsewhere (a work-pool run) left for this key."""
    record = stage.store.read_json(f"{stage.record_dir}/{stage.name}.json")
    if not record or record.get("key") != stage.key():
        return None
    return record if record.get("fingerprint") == stage.outputs_fingerprint() else None


def is_current(stage: Stage) -> bool:
    """The outputs on disk are the ones this key produced."""
    return cached_record(stage) is not None


def result_storage(store: ArtifactStore, record_dir: str) -> Any:
    """A saved Prefect filesystem block over `<store>/<record_dir>/results` (Prefect needs result
    storage saved server-side; the name is derived from the location, so saving is idempotent).
    Credentials are never put in the block: s3fs reads them from the environment."""
    from prefect.filesystems import LocalFileSystem, RemoteFileSystem

    target = store.child(f"{record_dir}/results")
    if store.is_local:
        target.fs.makedirs(target.root, exist_ok=True)
        block: Any = LocalFileSystem(basepath=target.root)
    else:
        block = RemoteFileSystem(basepath=target.root_url)
    block.save(f"stage-results-{fingerprint(target.root_url)}", overwrite=True)
    return block


def run_stage(task: Any, stage: S, refresh: bool = False, **arguments: Any) -> dict[str, Any]:
    """Run a stage task through Prefect's cache; the record, with `cached` saying whether the
    result came from the cache. `refresh` (or outputs that are not this key's) recomputes. Another
    run of this stage on this location is waited for first (its outputs may then be current)."""
    with store_lock(stage.store, f"{stage.record_dir}/locks/{stage.name}.lock"):
        current = not refresh and is_current(stage)
        configured = task.with_options(
            result_storage=result_storage(stage.store, stage.record_dir), refresh_cache=not current
        )
        state = configured(stage, return_state=True, **arguments)
        return {**state.result(), "cached": state.name == "Cached"}
