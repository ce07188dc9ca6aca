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
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api


def _entry(version_id: int, type_: str) -> CatalogEntry:
    return catalog_entry(f"model-{version_id}", model_id=version_id * 10, version_id=version_id, type=type_)


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


def _render(tmp_path, api_text: str, out: str):
    pq.write_table(
        pa.Table.from_pylist([_entry(8, "Checkpoint").model_dump()], schema=CATALOG_SCHEMA),
        tmp_path / "c.parquet",
    )
    api_file = tmp_path / f"{out}.json"
    api_file.write_text(api_text)
    args = ["render", "a cat", "--api", str(api_file), "--catalog", str(tmp_path / "c.parquet"),
            "--out", str(tmp_path / out), "--profile", "tiny"]  # fmt: skip
    return CliRunner().invoke(app, args)


def test_render_takes_what_select_prints_and_a_paper_style_api(tiny_env, tmp_path):
    """The same render from a bare API, `select`'s one answer, its ranked list (the first is
    rendered) and the paper's form without ids (model facts and ids from the catalog)."""
    api = make_api(8, steps=3)
    answer = {"api": api.model_dump(mode="json"), "score": -0.4, "selector": "llm"}
    paper = api.model_dump(
        exclude={"model_id", "version_id", "base_checkpoint_version_id", "model_description"}
    )
    other = {**answer, "api": {**answer["api"], "sampling_steps": 4}}
    inputs = {
        "bare": api.model_dump_json(),
        "answer": json.dumps(answer),
        "ranked": json.dumps([answer, other]),
        "paper": json.dumps(paper),
    }
    images = {}
    for name, text in inputs.items():
        result = _render(tmp_path, text, name)
        assert result.exit_code == 0, result.output
        images[name] = (tmp_path / name / "seed-0.png").read_bytes()
    assert len(set(images.values())) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ("[]", "is an empty list"),
        ('{"api": null, "text": "hello"}', "names no catalog model"),
        (
            json.dumps(
                {
                    "model": "model-8",
                    "width": 999,
                    "height": 512,
                    "sampling_method": "Euler a",
                    "sampling_steps": 3,
                    "cfg_scale": 7.0,
                }
            ),
            "width=999",
        ),  # fmt: skip
        (json.dumps({"model": "nope"}), "model 'nope'"),
        (make_api(8).model_dump_json().replace('"width":256', '"width":"big"'), "width"),
    ],
)
def test_render_api_errors_are_one_line_naming_the_value(tiny_env, tmp_path, text, message):
    result = _render(tmp_path, text, "o")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert "Traceback" not in result.output and "validation error" not in result.output.lower()


def test_usage_and_user_errors_of_any_command_are_one_line(tmp_path):
    cases = [
        (["render", "a cat", "--catalog", "x", "--out", "o"], "Missing option '--api'"),
        (
            ["render", "a cat", "--api", str(tmp_path / "none.json"), "--catalog", "x", "--out", "o"],
            "none.json",
        ),
        (["select", "a cat", "--catalog", str(tmp_path / "absent"), "--selector", "retrieval"], "absent"),
        (["select", "a cat", "--catalog", "x", "--top-k", "zero"], "'zero'"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(app, args)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2 and len(lines) == 1, (args, result.output)
        assert lines[0].startswith("error: ") and message in lines[0], (args, result.output)
