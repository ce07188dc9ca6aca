"""Artifact storage over fsspec: a local directory by default, `s3://...` for shared workers.

Every artifact the pipeline writes goes through `ArtifactStore`, so a location is just a URL.
Local writes go to a temporary name first and are renamed into place, so a killed process never
leaves a half-written Parquet file behind (object stores write whole objects anyway).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq


class ArtifactStore:
    def __init__(self, root: str, storage_options: dict[str, Any] | None = None) -> None:
        self.root_url = str(root).rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.root_url, **(storage_options or {}))
        self.is_local = self.fs.protocol in ("file", ("file", "local")) or "file" in self.fs.protocol

    def __repr__(self) -> str:
        return f"ArtifactStore({self.root_url!r})"

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if relative else self.root

    def url(self, relative: str) -> str:
        return f"{self.root_url}/{relative}"

    def child(self, relative: str) -> ArtifactStore:
        store = ArtifactStore.__new__(ArtifactStore)
        store.root_url, store.fs, store.root = self.url(relative), self.fs, self.path(relative)
        store.is_local = self.is_local
        return store

    def _fresh(self, path: str) -> str:
        """Drop fsspec's cached listing of `path` (s3fs keeps one per folder, which goes stale when
        another process or store instance writes there) and return it."""
        if not self.is_local:
            self.fs.invalidate_cache(path)
        return path

    def exists(self, relative: str) -> bool:
        return self.fs.exists(self._fresh(self.path(relative)))

    def list(self, relative: str, suffix: str = "") -> list[str]:
        """Relative names of the files directly under a folder, sorted; [] when absent."""
        folder = self._fresh(self.path(relative))
        if not self.fs.exists(folder):
            return []
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(folder, detail=False)]
        return sorted(f"{relative}/{n}" for n in names if n.endswith(suffix))

    def write_bytes(self, relative: str, payload: bytes) -> None:
        target = self.path(relative)
        parent = target.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        if self.is_local:
            temporary = f"{target}.{uuid.uuid4().hex}.tmp"
            # No fsync: the rename is atomic against a killed process, which is what resuming
            # needs; syncing every crawl page to disk would make the disk the crawl's bottleneck.
            with open(temporary, "wb") as handle:
                handle.write(payload)
            os.replace(temporary, target)
        else:
            with self.fs.open(target, "wb") as handle:
                handle.write(payload)

    def read_bytes(self, relative: str) -> bytes:
        with self.fs.open(self.path(relative), "rb") as handle:
            return handle.read()

    def write_json(self, relative: str, value: Any) -> None:
        self.write_bytes(relative, json.dumps(value, indent=2, sort_keys=True).encode())

    def read_json(self, relative: str, default: Any = None) -> Any:
        if not self.exists(relative):
            return default
        return json.loads(self.read_bytes(relative))

    def write_table(self, relative: str, table: pa.Table) -> None:
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        self.write_bytes(relative, buffer.getvalue())

    def read_table(self, relative: str, schema: pa.Schema | None = None) -> pa.Table:
        with self.fs.open(self.path(relative), "rb") as handle:
            table = read_parquet(handle)
        if schema is not None:
            table = table.select(schema.names).cast(schema)
        return table

    def read_tables(self, relative_folder: str, schema: pa.Schema) -> pa.Table:
        """All Parquet parts of a folder, concatenated in name order; empty table when none."""
        parts = [self.read_table(name, schema) for name in self.list(relative_folder, ".parquet")]
        return pa.concat_tables(parts) if parts else schema.empty_table()

    def walk(self, relative: str = "") -> list[str]:
        """Relative names (to `relative`) of every file below it, sorted; [""] when it is a file."""
        top = self._fresh(self.path(relative))
        if self.fs.isfile(top):
            return [""]
        found = self.fs.find(top)
        return sorted(p[len(top) :].lstrip("/") for p in found)

    def upload(self, local: str | Path, relative: str) -> None:
        """Copy a local file or folder to `relative` (a no-op when it is already that place)."""
        local = Path(local)
        if self.is_local and Path(self.path(relative)).resolve() == local.resolve():
            return
        files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
        for file in files:
            inside = file.relative_to(local).as_posix()
            name = relative if file == local else "/".join(p for p in (relative, inside) if p)
            self.write_bytes(name, file.read_bytes())

    @contextlib.contextmanager
    def local_folder(self, relative: str) -> Iterator[Path]:
        """An empty local folder to write `relative` into (for libraries that only write paths,
        such as `save_pretrained`): the folder itself on a local store, else a temporary one
        uploaded on success. What was at `relative` before is replaced."""
        if self.is_local:
            self.remove(relative)
            folder = Path(self.path(relative))
            folder.mkdir(parents=True, exist_ok=True)
            yield folder
            return
        with tempfile.TemporaryDirectory(prefix="diffagent-stage-") as temporary:
            yield Path(temporary)
            self.remove(relative)
            self.upload(temporary, relative)

    @contextlib.contextmanager
    def local_file(self, relative: str) -> Iterator[Path]:
        """A local path to write the file `relative` to; uploaded on success on a remote store."""
        if self.is_local:
            path = Path(self.path(relative))
            path.parent.mkdir(parents=True, exist_ok=True)
            yield path
            return
        with tempfile.TemporaryDirectory(prefix="diffagent-stage-") as temporary:
            path = Path(temporary) / relative.rsplit("/", 1)[-1]
            yield path
            self.upload(path, relative)

    def local_copy(self, relative: str = "", names: tuple[str, ...] | None = None) -> Path:
        """A local path holding `relative` (or just `names` under it): the path itself on a local
        store, else a copy in the cache folder (keyed by URL), refreshed when a file changed."""
        if self.is_local:
            return Path(self.path(relative))
        from diffagent.settings import get_settings

        source = self.child(relative) if relative else self
        key = hashlib.sha256(source.root_url.encode()).hexdigest()[:16]
        cache = Path(get_settings().cache_dir).expanduser() / "remote-artifacts"
        target, stamps_file = cache / key, cache / f"{key}.json"
        stamps = json.loads(stamps_file.read_text()) if stamps_file.exists() else {}
        for name in list(names) if names is not None else source.walk():
            if names is not None and not source.exists(name):
                continue  # optional files (e.g. instructions.parquet beside the splits)
            info = source.fs.info(source.path(name))
            stamp = [info.get("size"), str(info.get("ETag") or info.get("mtime"))]
            local = target / name if name else target
            if local.exists() and stamps.get(name) == stamp:
                continue
            local.parent.mkdir(parents=True, exist_ok=True)
            temporary = local.with_name(f"{local.name}.{uuid.uuid4().hex}.tmp")
            temporary.write_bytes(source.read_bytes(name))
            os.replace(temporary, local)  # a concurrent reader never loads half a weights file
            stamps[name] = stamp
        stamps_file.write_text(json.dumps(stamps))
        return target

    def remove(self, relative: str) -> None:
        if self.exists(relative):
            self.fs.rm(self.path(relative), recursive=True)


def absolute(location: str | Path) -> str:
    """A location as it should be recorded: local paths made absolute, URLs as they are."""
    text = str(location)
    return text if "://" in text else str(Path(text).resolve())


def at(url: str | Path) -> tuple[ArtifactStore, str]:
    """The store of a file's folder and the file's name: `at("s3://b/run/x.parquet")`."""
    parent, _, name = str(url).rstrip("/").rpartition("/")
    return ArtifactStore(parent or "."), name


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def read_parquet(handle: Any) -> pa.Table:
    """A Parquet file from an open binary handle, decoded on one thread.

    Why one thread: a process that exits soon after a threaded decode aborts ("terminate called
    without an active exception", 1 exit in 3 for `train sfta --plan` with pyarrow 26 here) while
    Arrow's CPU pool winds down. Our tables are small; decoding them is not the cost.
    """
    return pq.read_table(handle, use_threads=False)
