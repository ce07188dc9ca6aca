"""The real store against a real HTTP server on 127.0.0.1 (stdlib http.server in a thread)."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from safetensors.torch import save

from diffagent.store.base import PickleRefused
from diffagent.store.civitai_store import CivitaiModelStore, HashMismatch
from diffagent.store.download import DownloadError, filename_from_content_disposition
from tests.catalog_entries import catalog_entry

KEY = "test-key-123"
PAYLOAD = save({"weight": torch.arange(50_000, dtype=torch.float32)})
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    log: list[tuple[str, str | None, str | None]] = []
    flaky_served: set[str] = set()

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        auth = self.headers.get("Authorization")
        Handler.log.append((self.path, auth, self.headers.get("Range")))
        if self.path.startswith("/api/download/models/"):
            if self.path.endswith("/401") and auth != f"Bearer {KEY}":
                self.send_response(401)
                self.end_headers()
                return
            name = self.path.rsplit("/", 1)[1]
            self.send_response(307)  # Civitai redirects to a short-lived signed URL
            self.send_header("Location", f"/signed/{name}?X-Signature=abc")
            self.end_headers()
            return
        if self.path.startswith("/signed/"):
            name = self.path.split("/")[2].split("?")[0]
            self._serve(name)
            return
        self.send_response(404)
        self.end_headers()

    def _serve(self, name: str):
        body = PAYLOAD
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
        self.send_response(206 if start else 200)
        file_name = "model.ckpt" if name == "pickle" else "model.safetensors"
        self.send_header("Content-Disposition", f'attachment; filename="{file_name}"')
        self.send_header("Content-Length", str(len(body) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        if name == "flaky" and name not in Handler.flaky_served:
            Handler.flaky_served.add(name)
            self.wfile.write(body[: len(body) // 3])  # then drop the connection mid-body
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def entry(server: str, version_id: int, name: str, sha: str = SHA, file_name: str = "model.safetensors"):
    return catalog_entry(
        f"m{version_id}",
        model_id=version_id,
        version_id=version_id,
        file_name=file_name,
        sha256=sha,
        download_url=f"{server}/api/download/models/{name}",
    )


def store(server, tmp_path, entries, key=KEY):
    return CivitaiModelStore(
        entries, cache_dir=tmp_path, api_key=key, civitai_url=f"{server}/api/v1", backoff=0
    )


def test_good_file_follows_redirect_and_verifies(server, tmp_path):
    Handler.log.clear()
    resolved = store(server, tmp_path, [entry(server, 1, "good")]).resolve(1, "Checkpoint", "SD 1.5")
    assert resolved.path.read_bytes() == PAYLOAD and resolved.sha256 == SHA
    assert resolved.path == tmp_path / "sha256" / SHA[:2] / f"{SHA}.safetensors"
    paths = [path for path, _, _ in Handler.log]
    assert paths[0] == "/api/download/models/good" and paths[1].startswith("/signed/good")
    assert Handler.log[0][1] == f"Bearer {KEY}"
    # cached: a second resolve makes no request
    Handler.log.clear()
    store(server, tmp_path, [entry(server, 1, "good")]).resolve(1, "Checkpoint", "SD 1.5")
    assert Handler.log == []


def test_wrong_hash_is_refused_and_not_kept(server, tmp_path):
    with pytest.raises(HashMismatch, match="catalog says 0000"):
        store(server, tmp_path, [entry(server, 2, "good", sha="0" * 64)]).resolve(2, "Checkpoint", "SD 1.5")
    assert not list(tmp_path.rglob("*.safetensors")) and not list(tmp_path.rglob("*.part"))


def test_truncated_transfer_resumes_with_range(server, tmp_path):
    Handler.log.clear()
    resolved = store(server, tmp_path, [entry(server, 3, "flaky")]).resolve(3, "Checkpoint", "SD 1.5")
    assert resolved.path.read_bytes() == PAYLOAD
    ranges = [rng for path, _, rng in Handler.log if path.startswith("/signed/flaky")]
    assert ranges[0] is None and ranges[1] == f"bytes={len(PAYLOAD) // 3}-"


def test_401_without_a_key(server, tmp_path):
    with pytest.raises(DownloadError, match="refused with 401; set CIVITAI_API_KEY"):
        store(server, tmp_path, [entry(server, 4, "401")], key="").resolve(4, "Checkpoint", "SD 1.5")
    resolved = store(server, tmp_path, [entry(server, 4, "401")]).resolve(4, "Checkpoint", "SD 1.5")
    assert resolved.path.read_bytes() == PAYLOAD


def test_pickle_files_are_refused(server, tmp_path):
    with pytest.raises(PickleRefused, match="model.ckpt"):
        store(server, tmp_path, [entry(server, 5, "x", file_name="model.ckpt")]).resolve(
            5, "Checkpoint", "SD 1.5"
        )
    # the catalog says safetensors but the server sends a .ckpt: refused before use, and the
    # bytes it sent (whose hash is the catalog's) never reach the verified content path
    disguised = store(server, tmp_path, [entry(server, 6, "pickle")])
    Handler.log.clear()
    with pytest.raises(PickleRefused, match="model.ckpt"):
        disguised.resolve(6, "Checkpoint", "SD 1.5")
    assert any(path.startswith("/signed/pickle") for path, _, _ in Handler.log), "it was downloaded"
    assert not disguised.content_path(SHA).exists()


def test_key_never_in_repr(server, tmp_path):
    assert KEY not in repr(store(server, tmp_path, []))


def test_content_disposition_forms():
    assert filename_from_content_disposition('attachment; filename="a b.safetensors"') == "a b.safetensors"
    assert (
        filename_from_content_disposition("attachment; filename*=UTF-8''caf%C3%A9.safetensors")
        == "café.safetensors"
    )
    assert filename_from_content_disposition("attachment; filename=../../x.ckpt") == "x.ckpt"
    assert filename_from_content_disposition(None) is None
