"""Downloads from the bundled Civitai server, the way Civitai serves them: redirect to a signed URL,
Content-Disposition, SHA256 in `files[].hashes`, 401 without a key; and `diffagent models fetch`."""

from __future__ import annotations

import hashlib
import json

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from diffagent.civitai.downloads import Downloads
from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.sample_files import facts_of, write_sample_files
from diffagent.civitai.source import CivitaiSource
from diffagent.cli import app
from diffagent.store.base import PickleRefused
from diffagent.store.civitai_store import CivitaiModelStore, DownloadError, HashMismatch
from diffagent.store.layout import file_layout
from schemas.dabench import CATALOG_SCHEMA, CatalogEntry
from tests.catalog_entries import catalog_entry

# SD 1.5 and SDXL checkpoints, a Pony checkpoint, a Flux checkpoint that needs a key, an SD 1.5
# LoRA, a Flux LoRA and a LoCon.
VERSIONS = {10100, 10200, 12500, 12700, 11400, 13000, 13100}
KEY_REQUIRED = 12700


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from diffagent.tiny.diffusion import write_tiny_pipelines

    torch.set_num_threads(1)
    tiny = tmp_path_factory.mktemp("tiny")
    write_tiny_pipelines(tiny)
    served = write_sample_files(tiny, tiny / "files", only=VERSIONS, progress=False)
    source = CivitaiSource.sample(facts=facts_of(served))
    with CivitaiServer(source, downloads=Downloads(served)) as running:
        yield running


def _version(server, version_id: int) -> dict:
    return httpx.get(f"{server.url}/model-versions/{version_id}").json()


def test_files_download_verified_in_their_civitai_layouts(server, tmp_path):
    store = CivitaiModelStore([], cache_dir=tmp_path, civitai_url=server.url, api_key="key")
    layouts = {}
    for version_id in sorted(VERSIONS):
        path, sha256 = store.fetch(version_id)
        file = _version(server, version_id)["files"][0]
        assert sha256 == file["hashes"]["SHA256"].lower() and file["hashes"]["AutoV2"] == sha256[:10].upper()
        # AutoV3 as Civitai lists it: 12 digits of the SHA256 of everything after the header.
        data = path.read_bytes()
        tensors = data[8 + int.from_bytes(data[:8], "little") :]
        assert file["hashes"]["AutoV3"] == hashlib.sha256(tensors).hexdigest()[:12].upper()
        assert file["downloadUrl"].startswith(server.url.removesuffix("/api/v1")), (
            "served here, not civitai.com"
        )
        layouts[version_id] = file_layout(path)
    assert layouts == {
        10100: "ldm-checkpoint", 10200: "ldm-checkpoint", 12500: "ldm-checkpoint",
        12700: "flux-transformer", 11400: "kohya-lora", 13000: "kohya-lora", 13100: "lycoris-locon",
    }  # fmt: skip


def test_the_download_is_a_redirect_to_a_signed_url_with_the_file_name(server):
    base = server.url.removesuffix("/api/v1")
    first = httpx.get(f"{base}/api/download/models/10100")
    assert first.status_code == 307 and "signature=" in first.headers["location"]
    answer = httpx.get(base + first.headers["location"])
    assert answer.headers["content-disposition"] == 'attachment; filename="PixelForge_v10100.safetensors"'
    assert httpx.get(base + first.headers["location"].replace("signature=", "signature=0")).status_code == 403


def test_a_model_that_needs_a_key_is_refused_without_one(server, tmp_path):
    keyless = CivitaiModelStore([], cache_dir=tmp_path, civitai_url=server.url, api_key="", attempts=1)
    with pytest.raises(DownloadError, match="refused with 401; set CIVITAI_API_KEY"):
        keyless.fetch(KEY_REQUIRED)
    assert keyless.fetch(10100)[1], "models that need no key download without one"


def test_a_wrong_hash_is_refused_and_the_partial_file_removed(server, tmp_path):
    file = _version(server, 10100)["files"][0]
    entry = _entry(10100, "Checkpoint", file, sha256="ab" * 32)
    store = CivitaiModelStore([entry], cache_dir=tmp_path, api_key="key")
    with pytest.raises(HashMismatch, match="version 10100: downloaded SHA256"):
        store.fetch(10100)
    assert not list((tmp_path / "partial").iterdir()) and not (tmp_path / "sha256").exists()


def test_a_pickle_file_is_refused_naming_it(server, tmp_path):
    store = CivitaiModelStore([], cache_dir=tmp_path, civitai_url=server.url, api_key="key")
    with pytest.raises(PickleRefused, match="pickle_v90200.ckpt"):
        store.fetch(90200)


def _entry(version_id: int, kind: str, file: dict, sha256: str | None = None) -> CatalogEntry:
    return catalog_entry(
        f"m{version_id}",
        model_id=version_id // 100,
        version_id=version_id,
        type=kind,
        file_name=file["name"],
        sha256=sha256 or file["hashes"]["SHA256"],
        download_url=file["downloadUrl"],
    )


def test_models_fetch_prints_path_hash_and_layout(server, tmp_path, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_KEY", "key")
    entries = [_entry(10100, "Checkpoint", _version(server, 10100)["files"][0])]
    entries.append(_entry(11400, "LORA", _version(server, 11400)["files"][0]))
    catalog = tmp_path / "dabench"
    catalog.mkdir()
    rows = [entry.model_dump() for entry in entries]
    pq.write_table(pa.Table.from_pylist(rows, schema=CATALOG_SCHEMA), catalog / "catalog.parquet")
    args = [
        "models",
        "fetch",
        "10100",
        "11400",
        "--catalog",
        str(catalog),
        "--store-dir",
        str(tmp_path / "s"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    fetched = json.loads(result.stdout)
    assert {key: value["format"] for key, value in fetched.items()} == {
        "10100": "ldm-checkpoint",
        "11400": "kohya-lora",
    }
    assert fetched["10100"]["sha256"] == entries[0].sha256.lower()
    refused = CliRunner().invoke(app, [*args[:2], "90200", *args[4:], "--civitai-url", server.url])
    assert refused.exit_code == 2 and "pickle_v90200.ckpt" in refused.output
