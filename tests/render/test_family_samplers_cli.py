"""Every sampler name renders on each issue-25 family (solvers its pipeline's timesteps do not fit
run as flow-matching Euler, noted in the table), and `diffagent render --profile tiny` renders a
checkpoint and a LoRA of each: the LoRA changes the image, a rerun is byte-identical."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from diffagent.cli import app
from diffagent.render import RenderSettings
from diffagent.render.renderer import Renderer
from schemas.architectures import architecture_for, defaults_for
from schemas.dabench import CATALOG_SCHEMA
from schemas.samplers import SAMPLERS
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api

BASE_MODELS = ("ZImageTurbo", "Qwen", "Flux.2 D", "Flux.2 Klein 4B", "Flux.2 Klein 9B")


@pytest.mark.parametrize("base_model", BASE_MODELS)
def test_every_sampler_renders(tiny_store, base_model) -> None:
    assert architecture_for(base_model).schedulers["Euler"].exact
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=1, render_size=64, render_max_steps=2))
    for sampler in SAMPLERS:
        api = make_api(71, base_model=base_model, sampler=sampler, cfg_scale=1.0)
        assert renderer.render(api, "a fox")[0].size == (64, 64), sampler


@pytest.fixture
def tiny_env(tiny_pipelines, tmp_path_factory, monkeypatch):
    from diffagent.tiny import ensure_tiny_models

    root = tmp_path_factory.getbasetemp() / "cli-tiny-models"
    ensure_tiny_models(root)
    monkeypatch.setenv("DIFFAGENT_TINY_DIR", str(root))
    return root


def _render(tmp_path, catalog, api, out: str) -> bytes:
    api_file = tmp_path / f"{out}.json"
    api_file.write_text(api.model_dump_json())
    args = ["render", "a red fox", "--api", str(api_file), "--catalog", str(catalog), "--seeds", "0",
            "--out", str(tmp_path / out), "--profile", "tiny"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return (tmp_path / out / "seed-0.png").read_bytes()


@pytest.mark.parametrize("base_model", ["ZImageTurbo", "Qwen", "Flux.2 D", "Flux.2 Klein 9B"])
def test_cli_renders_a_checkpoint_and_a_lora_of_each_family(tiny_env, tmp_path, base_model) -> None:
    catalog = tmp_path / "dabench"
    catalog.mkdir()
    rows = [
        catalog_entry(f"m{version}", model_id=version, version_id=version, type=kind, base_model=base_model)
        for version, kind in ((91, "Checkpoint"), (92, "LORA"))
    ]
    table = pa.Table.from_pylist([row.model_dump() for row in rows], schema=CATALOG_SCHEMA)
    pq.write_table(table, catalog / "catalog.parquet")
    defaults = defaults_for(base_model)
    fields = {"base_model": base_model, "sampler": defaults.sampling_method, "cfg_scale": defaults.cfg_scale}
    checkpoint = _render(tmp_path, catalog, make_api(91, **fields), "checkpoint")
    lora = _render(tmp_path, catalog, make_api(92, "LORA", base_id=91, **fields), "lora")
    assert lora != checkpoint
    assert _render(tmp_path, catalog, make_api(92, "LORA", base_id=91, **fields), "again") == lora
