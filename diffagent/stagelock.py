"""A lock file on an artifact store (a local folder or any fsspec URL: s3://...), so that two runs of
one stage on one location never write its fixed-name outputs at once.

Prefect 3's own locks do not fit: `FileSystemLockManager` takes a local directory (no s3://), the
memory one a single process, and a SERIALIZABLE transaction locks one cache key, while two runs of
a stage with different settings (k=2 and k=3) have different keys and write the same files.

The lock is created exclusively (a local `open(..., "xb")`, S3's conditional put `If-None-Match`,
through `pipe_file(mode="create")`), names its holder, and carries a heartbeat the holder refreshes
every `stale_s / 4` seconds. A lock whose heartbeat is older than `stale_s` (its holder was killed)
is taken over; the heartbeat is the holder's clock, so `stale_s` must exceed any clock skew between
the machines sharing a store.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from diffagent.storage import ArtifactStore

LOCK_STALE_S = 600.0  # a lock not refreshed for 10 minutes belongs to a dead run
POLL_S = 1.0  # how often a waiting run looks at the lock again


def _read(store: ArtifactStore, name: str) -> dict[str, Any] | None:
    try:
        return json.loads(store.read_bytes(name))
    except (FileNotFoundError, json.JSONDecodeError):  # released, or being written
        return None


def _create(store: ArtifactStore, name: str, payload: bytes) -> bool:
    """Write the lock only if there is none; whether this call created it."""
    path = store.path(name)
    store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    try:
        if store.is_local:
            with store.fs.open(path, "xb") as handle:
                handle.write(payload)
        else:
            store.fs.pipe_file(path, payload, mode="create")
    except FileExistsError:
        return False
    except OSError as error:  # S3 answers an existing key with 412 Precondition Failed
        if "PreconditionFailed" in str(error) or "412" in str(error):
            return False
        raise
    return True


@contextmanager
def store_lock(
    store: ArtifactStore, name: str, stale_s: float = LOCK_STALE_S, wait_s: float | None = None
) -> Iterator[dict[str, Any]]:
    """Hold the lock file `name` of `store` for the `with` block (yields the lock's content),
    waiting while another holder's heartbeat is fresh; `wait_s` bounds the wait (TimeoutError
    naming the holder), None waits as long as the holder lives."""
    token = uuid.uuid4().hex
    holder = {"token": token, "host": socket.gethostname(), "pid": os.getpid()}

    def payload() -> bytes:
        return json.dumps({**holder, "heartbeat": time.time()}).encode()

    started = time.monotonic()
    while not _create(store, name, payload()):
        current = _read(store, name)
        if current is not None and time.time() - float(current.get("heartbeat", 0)) > stale_s:
            # The holder stopped refreshing: remove its lock (only if it is still that one) and retry.
            if (_read(store, name) or {}).get("token") == current.get("token"):
                store.remove(name)
            continue
        if wait_s is not None and time.monotonic() - started > wait_s:
            raise TimeoutError(f"{store.url(name)} is still held by {current} after {wait_s:g} s")
        time.sleep(POLL_S)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(stale_s / 4):
            if (_read(store, name) or {}).get("token") == token:
                store.write_bytes(name, payload())

    heartbeat = threading.Thread(target=beat, name=f"lock-heartbeat-{name}", daemon=True)
    heartbeat.start()
    try:
        yield {**holder, "url": store.url(name)}
    finally:
        stop.set()
        heartbeat.join()
        if (_read(store, name) or {}).get("token") == token:
            store.remove(name)
