"""`diffagent render` and `diffagent score` with --profile tiny."""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from diffagent.cli import app
from schemas.dabench import CATALOG_SCHEMA, CatalogEntry
from tests.render.conftest import make_api


def _entry(version_id: int, type_: str) -> CatalogEntry:
    return CatalogEntry(
        model=f"model-{version_id}", model_id=version_id * 10, version_id=version_id, type=type_,
        base_model="SD 1.5", model_description="d", description_source="fallback", trained_words=[],
        tags=[], model_name="m", version_name="v", download_count=1, thumbs_up_count=1, rating=5.0,
        rating_count=1, file_name="m.safetensors", sha256="0" * 64,
        download_url=f"https://civitai.com/api/download/models/{version_id}", sample_count=1,
    )  # fmt: skip


@pytest.fixture
def tiny_env(tiny_pipelines, tmp_path_factory, monkeypatch):
    from diffagent.tiny import ensure_tiny_models

    root = tmp_path_factory.getbasetemp() / "cli-tiny-models"
    ensure_tiny_models(root)
    monkeypatch.setenv("DIFFAGENT_TINY_DIR", str(root))
    return root


def test_render_twice_is_byte_identical_and_scores(tiny_env, tmp_path):
    catalog = tmp_path / "dabench"
    catalog.mkdir()
    rows = [_entry(7, "LORA").model_dump()]
    pq.write_table(pa.Table.from_pylist(rows, schema=CATALOG_SCHEMA), catalog / "catalog.parquet")
    api_file = tmp_path / "api.json"
    api_file.write_text(make_api(7, "LORA", base_id=101, steps=3).model_dump_json())
    runner = CliRunner()
    outputs = []
    for run in ("a", "b"):
        args = ["render", "a cat", "--api", str(api_file), "--catalog", str(catalog), "--seeds", "0,1",
                "--out", str(tmp_path / run), "--profile", "tiny"]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        outputs.append([(tmp_path / run / f"seed-{s}.png").read_bytes() for s in (0, 1)])
    assert outputs[0] == outputs[1]
    assert outputs[0][0] != outputs[0][1]
    result = runner.invoke(
        app,
        [
            "score",
            "a cat",
            str(tmp_path / "a" / "seed-0.png"),
            str(tmp_path / "a" / "seed-1.png"),
            "--profile",
            "tiny",
        ],
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)  # stdout only: loggers other tests set up write to stderr
    assert len(scores) == 2
    for row in scores:
        assert all(math.isfinite(row[m]) for m in ("clip_score", "image_reward", "hps_v2"))


def test_render_refuses_an_api_outside_the_catalog(tiny_env, tmp_path):
    pq.write_table(
        pa.Table.from_pylist([_entry(8, "Checkpoint").model_dump()], schema=CATALOG_SCHEMA),
        tmp_path / "c.parquet",
    )
    api_file = tmp_path / "api.json"
    api_file.write_text(make_api(9).model_dump_json())
    result = CliRunner().invoke(
        app,
        [
            "render",
            "x",
            "--api",
            str(api_file),
            "--catalog",
            str(tmp_path / "c.parquet"),
            "--out",
            str(tmp_path / "o"),
            "--profile",
            "tiny",
        ],
    )
    assert result.exit_code != 0 and "version 9" in result.output


def test_render_takes_the_base_model_outside_the_catalog(tiny_env, tmp_path):
    """version_id 0 is the architecture's base model (a default API), never a catalog entry; the
    tiny profile renders it at the capped size and steps."""
    pq.write_table(
        pa.Table.from_pylist([_entry(8, "Checkpoint").model_dump()], schema=CATALOG_SCHEMA),
        tmp_path / "c.parquet",
    )
    api_file = tmp_path / "api.json"
    api_file.write_text(make_api(0, model="stable-diffusion-v1-5", steps=20).model_dump_json())
    args = ["render", "a cat", "--api", str(api_file), "--catalog", str(tmp_path / "c.parquet"),
            "--out", str(tmp_path / "o"), "--profile", "tiny"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rendered_size"] == [64, 64] and summary["rendered_steps"] == 2
    assert (tmp_path / "o" / "seed-0.png").exists()
