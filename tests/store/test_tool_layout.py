"""`diffagent models fetch --layout L --into DIR` on the bundled sample's server: every file the
exports of an answer name is under that name, in the folder where the tool looks for it."""

from __future__ import annotations

import json
import re

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from diffagent.catalog import Catalog
from diffagent.civitai.downloads import Downloads
from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.sample_files import facts_of, write_companion_files, write_sample_files
from diffagent.civitai.source import CivitaiSource
from diffagent.cli import app
from diffagent.exports import export_inputs, export_object
from schemas.dabench import CATALOG_SCHEMA
from schemas.t2i import T2IApi
from tests.catalog_entries import catalog_entry

SD15_CHECKPOINT, SDXL_CHECKPOINT, SDXL_LORA, FLUX_CHECKPOINT, FLUX_LORA = 10100, 10200, 11300, 12700, 13000
SD3_CHECKPOINT, SD3_LORA = 14800, 14900
VERSIONS = {SD15_CHECKPOINT, SDXL_CHECKPOINT, SDXL_LORA, FLUX_CHECKPOINT, FLUX_LORA, SD3_CHECKPOINT, SD3_LORA}
# ComfyUI: each loader node's file input and the folder under ComfyUI's root it lists (folder_paths).
COMFYUI_FOLDERS = {
    ("CheckpointLoaderSimple", "ckpt_name"): "models/checkpoints",
    ("UNETLoader", "unet_name"): "models/diffusion_models",
    ("LoraLoader", "lora_name"): "models/loras",
    ("DualCLIPLoader", "clip_name1"): "models/text_encoders",
    ("DualCLIPLoader", "clip_name2"): "models/text_encoders",
    ("TripleCLIPLoader", "clip_name1"): "models/text_encoders",
    ("TripleCLIPLoader", "clip_name2"): "models/text_encoders",
    ("TripleCLIPLoader", "clip_name3"): "models/text_encoders",
    ("VAELoader", "vae_name"): "models/vae",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The bundled server with these versions' files and the companions, and a catalog of them."""
    from diffagent.tiny.diffusion import write_tiny_pipelines

    torch.set_num_threads(1)
    tiny = tmp_path_factory.mktemp("tiny")
    write_tiny_pipelines(tiny)
    served = write_sample_files(tiny, tiny / "files", only=VERSIONS, progress=False)
    source = CivitaiSource.sample(facts=facts_of(served))
    hub_files = write_companion_files(tiny, tiny / "files")
    with CivitaiServer(source, downloads=Downloads(served), hub_files=hub_files) as server:
        entries = []
        for version_id in sorted(VERSIONS):
            answer = httpx.get(f"{server.url}/model-versions/{version_id}").json()
            file = answer["files"][0]
            entries.append(
                catalog_entry(
                    f"m{version_id}",
                    model_id=answer["modelId"],
                    version_id=version_id,
                    type=answer["model"]["type"],
                    base_model=answer["baseModel"],
                    file_name=file["name"],
                    sha256=file["hashes"]["SHA256"],
                    download_url=file["downloadUrl"],
                )
            )
        folder = tiny / "dabench"
        folder.mkdir()
        rows = [entry.model_dump() for entry in entries]
        pq.write_table(pa.Table.from_pylist(rows, schema=CATALOG_SCHEMA), folder / "catalog.parquet")
        yield server, folder, Catalog(entries=rows, fingerprint="layout")


def _api(catalog: Catalog, version_id: int, base_version: int | None = None, **extra) -> T2IApi:
    entry = catalog[f"m{version_id}"]
    base = {"base_checkpoint": f"m{base_version}", "base_checkpoint_version_id": base_version}
    return T2IApi(
        model=entry.model,
        type=entry.type,
        base_model=entry.base_model,
        model_id=entry.model_id,
        version_id=version_id,
        **(base if base_version else {}),
        **(
            {"width": 512, "height": 512, "sampling_method": "Euler", "sampling_steps": 20, "cfg_scale": 3.5}
            | extra
        ),
    )


ANSWERS = {  # name -> (model version, its base checkpoint's)
    "sd15 checkpoint": (SD15_CHECKPOINT, None),
    "sdxl lora": (SDXL_LORA, SDXL_CHECKPOINT),
    "flux lora": (FLUX_LORA, FLUX_CHECKPOINT),
}
# SD 3.5: ComfyUI only (A1111 and Forge refuse it).
COMFYUI_ANSWERS = ANSWERS | {"sd3 lora": (SD3_LORA, SD3_CHECKPOINT)}


def _fetch(sample, tmp_path, layout: str, versions: list[int]) -> dict:
    server, folder, _ = sample
    into = tmp_path / layout
    args = [
        "models",
        "fetch",
        *map(str, versions),
        "--catalog",
        str(folder),
        "--store-dir",
        str(tmp_path / "s"),
    ]
    args += ["--layout", layout, "--into", str(into), "--hub-url", server.root]
    result = CliRunner(env={"CIVITAI_API_KEY": "key"}).invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _versions(name: str) -> list[int]:
    return [v for v in COMFYUI_ANSWERS[name] if v is not None]


@pytest.mark.parametrize("name", sorted(COMFYUI_ANSWERS))
def test_comfyui_layout_holds_every_file_the_workflow_loads(sample, tmp_path, name):
    _, _, catalog = sample
    printed = _fetch(sample, tmp_path, "comfyui", _versions(name))
    workflow = export_object(
        "comfyui", export_inputs(_api(catalog, *COMFYUI_ANSWERS[name]), catalog, "a fox")
    )
    loaded = [
        (folder, node["inputs"][field])
        for node in workflow.values()
        for (class_type, field), folder in COMFYUI_FOLDERS.items()
        if node["class_type"] == class_type
    ]
    assert loaded, workflow
    for folder, file_name in loaded:
        assert (tmp_path / "comfyui" / folder / file_name).is_file(), (folder, file_name)
    assert {file["path"] for file in printed["files"]} == {
        str(tmp_path / "comfyui" / folder / file_name) for folder, file_name in loaded
    }


def test_flux_companions_come_in_their_real_layouts_with_their_hashes(sample, tmp_path):
    printed = _fetch(sample, tmp_path, "comfyui", [FLUX_CHECKPOINT])
    by_name = {file["name"]: file for file in printed["files"]}
    assert {name: file["format"] for name, file in by_name.items()} == {
        "FluxReal_v12700.safetensors": "flux-transformer",
        "t5xxl_fp16.safetensors": "t5-encoder",
        "clip_l.safetensors": "clip-text-encoder",
        "ae.safetensors": "ldm-vae",
    }
    assert by_name["ae.safetensors"]["path"] == str(tmp_path / "comfyui" / "models/vae/ae.safetensors")
    assert by_name["ae.safetensors"]["source"].endswith(
        "/black-forest-labs/FLUX.1-schnell/resolve/main/ae.safetensors"
    )
    server, _, _ = sample
    head = httpx.head(f"{server.root}/comfyanonymous/flux_text_encoders/resolve/main/clip_l.safetensors")
    assert head.headers["x-linked-etag"] == f'"{by_name["clip_l.safetensors"]["sha256"]}"'
    again = _fetch(sample, tmp_path, "comfyui", [FLUX_CHECKPOINT])
    assert {file["placed"] for file in again["files"]} == {"existing"}


def test_sd35_checkpoint_goes_to_checkpoints_with_its_three_text_encoders(sample, tmp_path):
    """ComfyUI's SD 3.5 example: the file (MMDiT and VAE) in checkpoints, clip-l, clip-g and t5
    for TripleCLIPLoader in text_encoders. A125cd8 refused it when it was put in diffusion_models."""
    printed = _fetch(sample, tmp_path, "comfyui", [SD3_CHECKPOINT])
    root = tmp_path / "comfyui" / "models"
    assert {file["path"] for file in printed["files"]} == {
        str(root / "checkpoints/SD35Concept_v14800.safetensors"),
        str(root / "text_encoders/clip_l.safetensors"),
        str(root / "text_encoders/clip_g.safetensors"),
        str(root / "text_encoders/t5xxl_fp16.safetensors"),
    }


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_a1111_layout_holds_every_file_the_infotext_names(sample, tmp_path, name):
    _, _, catalog = sample
    _fetch(sample, tmp_path, "a1111", _versions(name))
    root = tmp_path / "a1111"
    text = export_object("a1111", export_inputs(_api(catalog, *ANSWERS[name]), catalog, "a fox"))
    model = re.search(r"Model: ([^,\n]+)", text)[1]
    assert (root / "models/Stable-diffusion" / f"{model}.safetensors").is_file()
    for lora in re.findall(r"<lora:([^:>]+):", text):
        assert (root / "models/Lora" / f"{lora}.safetensors").is_file()
    modules = re.findall(r"Module \d+: ([^,\n]+)", text)
    assert bool(modules) == (name == "flux lora")
    for module in modules:
        found = [root / folder / f"{module}.safetensors" for folder in ("models/VAE", "models/text_encoder")]
        assert any(path.is_file() for path in found), module
    body = export_object("a1111-api", export_inputs(_api(catalog, *ANSWERS[name]), catalog, "a fox"))
    assert (root / "models/Stable-diffusion" / body["override_settings"]["sd_model_checkpoint"]).is_file()


def test_a_different_file_in_the_way_is_refused_not_overwritten(sample, tmp_path):
    target = tmp_path / "comfyui" / "models/checkpoints/PixelForge_v10100.safetensors"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"mine")
    server, folder, _ = sample
    args = [
        "models",
        "fetch",
        str(SD15_CHECKPOINT),
        "--catalog",
        str(folder),
        "--store-dir",
        str(tmp_path / "s"),
    ]
    args += ["--layout", "comfyui", "--into", str(tmp_path / "comfyui")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "PixelForge_v10100.safetensors exists with other bytes" in result.output
    assert target.read_bytes() == b"mine"
