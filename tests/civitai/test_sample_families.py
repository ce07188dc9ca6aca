"""Acceptance of issue 25 on the bundled sample: the local Civitai server serves models of every
family, `diffagent dabench build --no-llm` catalogs them, `models fetch` verifies a checkpoint and a
LoRA of Z-Image, Qwen-Image and Flux.2, `render --profile tiny` renders them (the LoRA changes its
base's image, reruns are byte-identical), and `select` never pairs a LoRA with a checkpoint the
compatibility rule refuses. One build, shared by the module (about a minute on two CPU cores):
those tests are `slow` (`pytest -m slow tests/civitai/test_sample_families.py`)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from diffagent.civitai.downloads import Downloads
from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.sample_files import (
    facts_of,
    served_versions,
    write_companion_files,
    write_sample_files,
)
from diffagent.civitai.source import CivitaiSource
from diffagent.cli import app
from diffagent.store.hub import resolve_path
from schemas.architectures import ARCHITECTURE_TABLE
from schemas.compatibility import compatibility

NEW_FAMILIES = ("sd3", "z-image", "qwen-image", "flux2", "flux2-klein-4b", "chroma", "auraflow")
RENDERED = ("z-image", "qwen-image", "flux2")
ROOT = Path(__file__).resolve().parents[2]


def _demo_apis():
    """scripts/demo_apis.py, the script `make demo` picks its APIs with (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location("demo_apis", ROOT / "scripts" / "demo_apis.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """(server, DABench folder, tiny-models folder): the sample served with the new families'
    files and every companion, and one DABench build from it."""
    from diffagent.tiny import ensure_tiny_models

    torch.set_num_threads(1)
    tiny = ensure_tiny_models(tmp_path_factory.getbasetemp() / "cli-tiny-models")
    files = tmp_path_factory.mktemp("sample-files")
    only = {spec.version_id for spec in served_versions() if spec.architecture in NEW_FAMILIES}
    served = write_sample_files(tiny, files, only=only, progress=False)
    hub_files = write_companion_files(tiny, files)
    source = CivitaiSource.sample(facts=facts_of(served))
    dabench = tmp_path_factory.mktemp("families") / "dabench"
    with CivitaiServer(source, downloads=Downloads(served), hub_files=hub_files) as server:
        args = ["dabench", "build", "--no-llm", "--out", str(dabench), "--civitai-url", server.url]
        result = CliRunner().invoke(app, [*args, "--set", "show_progress=false"])
        assert result.exit_code == 0, result.output
        yield server, dabench, tiny


@pytest.fixture
def tiny_env(sample, monkeypatch):
    monkeypatch.setenv("DIFFAGENT_TINY_DIR", str(sample[2]))
    monkeypatch.setenv("CIVITAI_API_KEY", "key")


def test_served_versions_include_each_new_family():
    kinds = {(spec.architecture, spec.kind) for spec in served_versions()}
    for family in NEW_FAMILIES:
        assert {(family, "Checkpoint"), (family, "LORA")} <= kinds, family


@pytest.mark.slow  # the module's DABench build: about a minute
def test_companions_of_the_new_families_are_served_under_hub_paths(sample):
    server = sample[0]
    for family in ("z-image", "qwen-image", "flux2", "flux2-klein-4b", "chroma", "auraflow"):
        companions = ARCHITECTURE_TABLE[family].companions
        assert companions, family
        for companion in companions:
            answer = httpx.get(server.root + resolve_path(companion.source), follow_redirects=True)
            assert answer.status_code == 200, (family, companion.file)
            assert answer.headers["x-linked-etag"].strip('"') == hashlib.sha256(answer.content).hexdigest()


@pytest.mark.slow  # the module's DABench build: about a minute
def test_the_catalog_covers_every_family(sample):
    catalog = pd.read_parquet(sample[1] / "catalog.parquet")
    expected = {
        "sd1",
        "sdxl",
        "flux",
        "sd3",
        "z-image",
        "qwen-image",
        "flux2",
        "flux2-klein-4b",
        "chroma",
        "auraflow",
    }
    assert expected <= set(catalog["architecture"])
    for family in NEW_FAMILIES:
        kinds = set(catalog.loc[catalog["architecture"] == family, "type"])
        assert kinds == {"Checkpoint", "LORA"}, family


@pytest.mark.slow  # the module's DABench build: about a minute
def test_fetch_and_render_a_checkpoint_and_a_lora_of_each_new_family(sample, tiny_env, tmp_path):
    server, dabench, _ = sample
    apis = tmp_path / "apis"
    _demo_apis().main(dabench, apis)
    catalog = pd.read_parquet(dabench / "catalog.parquet").set_index("version_id")
    runner = CliRunner()
    for family in RENDERED:
        lora = json.loads((apis / f"api-{family}-lora.json").read_text())
        checkpoint = json.loads((apis / f"api-{family}-checkpoint.json").read_text())
        assert checkpoint["version_id"] == lora["base_checkpoint_version_id"]
        versions = [str(checkpoint["version_id"]), str(lora["version_id"])]
        args = ["models", "fetch", *versions, "--catalog", str(dabench), "--store-dir", str(tmp_path / "s")]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        fetched = json.loads(result.stdout)
        for version in versions:
            data = Path(fetched[version]["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == catalog.loc[int(version), "sha256"].lower(), version
        images = {
            name: _render(apis / f"api-{family}-{name}.json", dabench, tmp_path / f"{family}-{name}")
            for name in ("checkpoint", "lora", "lora-again")
        }
        assert images["lora"] != images["checkpoint"], family
        assert images["lora-again"] == images["lora"], family


def _render(api: Path, dabench: Path, out: Path) -> bytes:
    api = api.with_name(api.name.replace("-again", ""))
    args = ["render", "a red fox in the snow", "--api", str(api), "--catalog", str(dabench),
            "--seeds", "0", "--out", str(out), "--profile", "tiny"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return (out / "seed-0.png").read_bytes()


@pytest.mark.slow  # the module's DABench build: about a minute
def test_select_never_pairs_a_lora_with_a_checkpoint_it_cannot_run_on(sample, tmp_path):
    dabench = sample[1]
    catalog = pd.read_parquet(dabench / "catalog.parquet").set_index("version_id")
    prompts = pd.read_parquet(dabench / "splits" / "eval.parquet")["prompt"].drop_duplicates()
    batch = tmp_path / "eval.jsonl"
    batch.write_text("".join(json.dumps({"prompt": prompt}) + "\n" for prompt in prompts))
    args = ["select", "--catalog", str(dabench), "--selector", "retrieval", "--batch", str(batch)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    answers = [json.loads(line)["api"] for line in result.stdout.splitlines() if line.strip()]
    assert len(answers) == len(prompts)
    loras = [api for api in answers if api["type"] == "LORA"]
    assert loras, "the sample's eval prompts get LoRA answers too"
    for api in loras:
        lora_base = catalog.loc[api["version_id"], "base_model"]
        checkpoint_base = catalog.loc[api["base_checkpoint_version_id"], "base_model"]
        assert compatibility(lora_base, checkpoint_base) is not None, (api["model"], checkpoint_base)
